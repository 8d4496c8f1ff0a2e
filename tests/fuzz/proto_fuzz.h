/*
 * proto_fuzz.h — the proto fuzz target (proto_fuzz.c) as its two drivers
 * see it: libFuzzer's entry point, and the seed corpus, made by the
 * encoders from proto_msgs.h so that it follows every change of the list.
 * The drivers are libFuzzer itself (tests/fuzz/proto_fuzz, when configure
 * found a compiler for it) and standalone.c (always built).
 */
#ifndef PARLEY_PROTO_FUZZ_H
#define PARLEY_PROTO_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes data and checks everything proto.h promises about the result
 * (see proto_fuzz.c); abort()s, after a line on stderr, on a broken
 * promise.  Returns 0.
 */
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A mutation that knows the wire format (proto.h): picks a field of the
 * message in data[0..size) and resizes it (a list or string at a bound
 * of its proto_msgs.h field, one past it, one longer or shorter), or sets
 * a number at or past a bound, keeping the field's and the header's
 * lengths true so that the decoder's bound checks are reached, which
 * flipping bytes at random seldom does.  data has room for max bytes.
 * The new size, or 0 if data has no field to mutate (or no room).
 */
size_t	 proto_fuzz_mutate(uint8_t *data, size_t size, size_t max, uint32_t seed);

/* Inputs up to this size are worth trying: every bound but the largest fits. */
#define PROTO_FUZZ_MAX_LEN	8192

/* How many seeds there are: a few per message of proto_msgs.h. */
size_t	 proto_fuzz_nseeds(void);

/*
 * Encodes seed i (< proto_fuzz_nseeds()) into a new buffer (free(3) it)
 * of *lenp bytes.  0, or the encoder's error: a message whose bounds the
 * seed maker cannot meet (see proto_fuzz.c) fails here, not silently.
 */
int	 proto_fuzz_seed(size_t i, void **bufp, size_t *lenp);

#endif
