/*
 * unit.h — what every unit test's main() shares: run a check suite (TAP
 * output comes from CK_TAP_LOG_FILE_NAME, set by the Makefile) and turn
 * the result into the exit status.
 */
#ifndef PARLEY_UNIT_H
#define PARLEY_UNIT_H

#include <check.h>

static inline int
unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
