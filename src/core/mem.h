/* What memory costs, for the bounds each module states (herd check prints
 * their sum: docs/DECISIONS.md, "Hostile traffic"). */
#ifndef HERD_CORE_MEM_H
#define HERD_CORE_MEM_H

#include <stddef.h>
#include <stdint.h>

/* What malloc takes for an n-byte block: glibc adds an 8-byte header and
 * rounds to 16, at least 32. */
static inline uint64_t mem_chunk(uint64_t n)
{
	uint64_t c = (n + 8 + 15) & ~(uint64_t)15;

	return c < 32 ? 32 : c;
}

/* The smallest power of two >= n (and >= lo). */
static inline uint64_t mem_pow2(uint64_t n, uint64_t lo)
{
	uint64_t p = lo;

	while (p < n)
		p <<= 1;
	return p;
}

#endif
