/*
 * rights_guide.h: the guide's rights table (docs/rights.md), as the tests that check the rights
 * matrix cell by cell read it: in process (unit/domain_test.c) and over RPC
 * (integration/matrix_test.c). Written down apart from projections/rights.c on purpose: a test
 * that read the matrix from the code under test would prove nothing.
 */
#ifndef TESTS_SUPPORT_RIGHTS_GUIDE_H
#define TESTS_SUPPORT_RIGHTS_GUIDE_H

#include <stddef.h>

#define RIGHTS_GUIDE_ROWS ((size_t)21)

/* The columns of a row's rights: sign, launch, seal, prepare. */
typedef struct rights_guide_row {
	const char *action;
	const char *rights; /* "E" (the EC only) or 4 characters of 'x' (allowed) and '.' (denied) */
} rights_guide_row;

extern const rights_guide_row rights_guide[RIGHTS_GUIDE_ROWS];

#endif
