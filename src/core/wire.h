/* A bounds-checked cursor over a packet, for reading and for writing.
 *
 * The error is sticky: once a read or write runs past the end, every later
 * read returns zero and every later write does nothing, and wire_ok() is
 * false. Protocol code reads a whole structure and checks once at the end;
 * it never does pointer arithmetic on packet buffers itself. */
#ifndef HERD_CORE_WIRE_H
#define HERD_CORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wire {
	uint8_t *buf; /* NULL-safe only when size is 0 */
	size_t size;
	size_t pos;
	bool err;
	bool readonly;
};

static inline struct wire wire_reader(const void *buf, size_t size)
{
	struct wire w = {(uint8_t *)buf, size, 0, false, true};
	return w;
}

static inline struct wire wire_writer(void *buf, size_t size)
{
	struct wire w = {(uint8_t *)buf, size, 0, false, false};
	return w;
}

static inline bool wire_ok(const struct wire *w)
{
	return !w->err;
}

static inline size_t wire_left(const struct wire *w)
{
	return w->err ? 0 : w->size - w->pos;
}

static inline size_t wire_pos(const struct wire *w)
{
	return w->pos;
}

static inline void wire_fail(struct wire *w)
{
	w->err = true;
}

/* Current position as a pointer, valid for wire_left() bytes. */
static inline const uint8_t *wire_peek(const struct wire *w)
{
	return w->buf ? w->buf + w->pos : NULL; /* NULL + 0 is undefined */
}

static inline bool wire_need(struct wire *w, size_t n)
{
	if (w->err || w->size - w->pos < n) {
		w->err = true;
		return false;
	}
	return true;
}

static inline uint8_t wire_u8(struct wire *w)
{
	if (!wire_need(w, 1))
		return 0;
	return w->buf[w->pos++];
}

static inline uint16_t wire_u16(struct wire *w)
{
	if (!wire_need(w, 2))
		return 0;
	uint16_t v = (uint16_t)(w->buf[w->pos] << 8 | w->buf[w->pos + 1]);
	w->pos += 2;
	return v;
}

static inline uint32_t wire_u32(struct wire *w)
{
	if (!wire_need(w, 4))
		return 0;
	uint32_t v = (uint32_t)w->buf[w->pos] << 24 | (uint32_t)w->buf[w->pos + 1] << 16 |
		     (uint32_t)w->buf[w->pos + 2] << 8 | w->buf[w->pos + 3];
	w->pos += 4;
	return v;
}

/* Copies n bytes out; on failure dst is zeroed. */
static inline void wire_read(struct wire *w, void *dst, size_t n)
{
	if (!wire_need(w, n)) {
		memset(dst, 0, n);
		return;
	}
	if (n == 0)
		return; /* buf may be NULL, which memcpy() must not get */
	memcpy(dst, w->buf + w->pos, n);
	w->pos += n;
}

static inline void wire_skip(struct wire *w, size_t n)
{
	if (wire_need(w, n))
		w->pos += n;
}

/* A cursor over the next n bytes, which this cursor then skips. For TLVs. */
static inline struct wire wire_sub(struct wire *w, size_t n)
{
	struct wire s = {NULL, 0, 0, true, w->readonly};

	if (wire_need(w, n)) {
		s = (struct wire){w->buf + w->pos, n, 0, false, w->readonly};
		w->pos += n;
	}
	return s;
}

/* Reads a NUL-terminated string in place. Returns it (within the buffer) and
 * its length without the NUL, or NULL with the error set if no NUL is found. */
static inline const char *wire_cstr(struct wire *w, size_t *len)
{
	if (w->err || w->pos == w->size) { /* also keeps a NULL buf from memchr() */
		w->err = true;
		return NULL;
	}
	const uint8_t *start = w->buf + w->pos;
	const uint8_t *nul = memchr(start, 0, w->size - w->pos);
	if (nul == NULL) {
		w->err = true;
		return NULL;
	}
	*len = (size_t)(nul - start);
	w->pos += *len + 1;
	return (const char *)start;
}

static inline bool wire_room(struct wire *w, size_t n)
{
	if (w->err || w->readonly || w->size - w->pos < n) {
		w->err = true;
		return false;
	}
	return true;
}

static inline void wire_put_u8(struct wire *w, uint8_t v)
{
	if (wire_room(w, 1))
		w->buf[w->pos++] = v;
}

static inline void wire_put_u16(struct wire *w, uint16_t v)
{
	if (!wire_room(w, 2))
		return;
	w->buf[w->pos++] = (uint8_t)(v >> 8);
	w->buf[w->pos++] = (uint8_t)v;
}

static inline void wire_put_u32(struct wire *w, uint32_t v)
{
	if (!wire_room(w, 4))
		return;
	for (int shift = 24; shift >= 0; shift -= 8)
		w->buf[w->pos++] = (uint8_t)(v >> shift);
}

static inline void wire_put(struct wire *w, const void *src, size_t n)
{
	if (n == 0 || !wire_room(w, n))
		return;
	memcpy(w->buf + w->pos, src, n);
	w->pos += n;
}

/* Writes s and its terminating NUL. */
static inline void wire_put_cstr(struct wire *w, const char *s)
{
	wire_put(w, s, strlen(s) + 1);
}

#endif
