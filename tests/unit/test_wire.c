/* Unit tests for the bounds-checked packet cursor (core/wire.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/wire.h"

static void test_read_big_endian(void **state)
{
	(void)state;
	const uint8_t pkt[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0xff, 0xfe, 0xfd, 0xfc};
	struct wire w = wire_reader(pkt, sizeof(pkt));

	assert_int_equal(wire_u8(&w), 0x01);
	assert_int_equal(wire_u16(&w), 0x0203);
	assert_int_equal(wire_u32(&w), 0x04050607);
	assert_int_equal(wire_u32(&w), 0xfffefdfc); /* no sign extension */
	assert_true(wire_ok(&w));
	assert_int_equal(wire_left(&w), 0);
	assert_int_equal(wire_pos(&w), sizeof(pkt));
}

static void test_error_is_sticky(void **state)
{
	(void)state;
	const uint8_t pkt[] = {0xaa, 0xbb, 0xcc};
	struct wire w = wire_reader(pkt, sizeof(pkt));

	assert_int_equal(wire_u16(&w), 0xaabb);
	assert_int_equal(wire_u16(&w), 0); /* one byte left: fails */
	assert_false(wire_ok(&w));
	assert_int_equal(wire_pos(&w), 2); /* a failed read does not move */
	assert_int_equal(wire_left(&w), 0);
	/* The byte that is still there is not read after the failure. */
	assert_int_equal(wire_u8(&w), 0);
	assert_false(wire_ok(&w));
}

static void test_read_exact_end(void **state)
{
	(void)state;
	const uint8_t pkt[] = {1, 2, 3, 4};
	struct wire w = wire_reader(pkt, sizeof(pkt));

	assert_int_equal(wire_u32(&w), 0x01020304);
	assert_true(wire_ok(&w));
	assert_int_equal(wire_u8(&w), 0);
	assert_false(wire_ok(&w));
}

static void test_read_copy_and_skip(void **state)
{
	(void)state;
	const uint8_t pkt[] = {'a', 'b', 'c', 'd', 'e'};
	uint8_t out[4];
	struct wire w = wire_reader(pkt, sizeof(pkt));

	wire_skip(&w, 1);
	wire_read(&w, out, 3);
	assert_memory_equal(out, "bcd", 3);
	assert_int_equal(wire_left(&w), 1);
	assert_int_equal(*wire_peek(&w), 'e');

	memset(out, 0x55, sizeof(out));
	wire_read(&w, out, 4); /* only one byte left */
	assert_false(wire_ok(&w));
	const uint8_t zero[4] = {0};
	assert_memory_equal(out, zero, 4); /* zeroed, not half-filled */
}

static void test_skip_past_end(void **state)
{
	(void)state;
	const uint8_t pkt[] = {1, 2};
	struct wire w = wire_reader(pkt, sizeof(pkt));

	wire_skip(&w, 3);
	assert_false(wire_ok(&w));
	assert_int_equal(wire_pos(&w), 0);
}

static void test_huge_length_does_not_wrap(void **state)
{
	(void)state;
	const uint8_t pkt[] = {1, 2, 3, 4};
	struct wire w = wire_reader(pkt, sizeof(pkt));

	wire_u8(&w);
	wire_skip(&w, SIZE_MAX); /* pos + n would wrap around */
	assert_false(wire_ok(&w));

	w = wire_reader(pkt, sizeof(pkt));
	struct wire sub = wire_sub(&w, SIZE_MAX - 1);
	assert_false(wire_ok(&sub));
	assert_false(wire_ok(&w));
	assert_int_equal(wire_left(&sub), 0);
}

static void test_empty_reader(void **state)
{
	(void)state;
	struct wire w = wire_reader(NULL, 0);
	uint8_t out[2] = {7, 7};

	assert_true(wire_ok(&w));
	assert_int_equal(wire_left(&w), 0);
	wire_read(&w, out, 0); /* zero bytes from nothing is fine */
	assert_true(wire_ok(&w));
	assert_int_equal(wire_u8(&w), 0);
	assert_false(wire_ok(&w));
	wire_read(&w, out, 2);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 0);

	size_t len;
	w = wire_reader(NULL, 0);
	assert_null(wire_peek(&w));
	assert_null(wire_cstr(&w, &len));
	assert_false(wire_ok(&w));

	w = wire_reader(NULL, 0);
	struct wire failed = wire_sub(&w, 1);
	assert_null(wire_peek(&failed));
	wire_put(&failed, NULL, 0);
	assert_int_equal(wire_left(&failed), 0);
}

static void test_sub_cursor(void **state)
{
	(void)state;
	/* type 1, length 3, value; type 2, length 9 (longer than the packet) */
	const uint8_t pkt[] = {1, 3, 0xa, 0xb, 0xc, 2, 9, 0xd};
	struct wire w = wire_reader(pkt, sizeof(pkt));

	assert_int_equal(wire_u8(&w), 1);
	struct wire tlv = wire_sub(&w, wire_u8(&w));
	assert_true(wire_ok(&tlv));
	assert_int_equal(wire_left(&tlv), 3);
	assert_int_equal(wire_u16(&tlv), 0x0a0b);
	assert_int_equal(wire_u16(&tlv), 0); /* overruns the TLV, not the packet */
	assert_false(wire_ok(&tlv));
	assert_true(wire_ok(&w)); /* the parent is not affected */
	assert_int_equal(wire_pos(&w), 5);

	assert_int_equal(wire_u8(&w), 2);
	struct wire bad = wire_sub(&w, wire_u8(&w));
	assert_false(wire_ok(&bad));
	assert_false(wire_ok(&w));
	assert_int_equal(wire_u8(&bad), 0);
	assert_int_equal(wire_left(&bad), 0);

	/* A sub-cursor of a failed cursor is failed too. */
	struct wire worse = wire_sub(&w, 0);
	assert_false(wire_ok(&worse));
}

static void test_sub_of_reader_is_readonly(void **state)
{
	(void)state;
	uint8_t buf[4] = {1, 2, 3, 4};
	struct wire r = wire_reader(buf, sizeof(buf));
	struct wire sub = wire_sub(&r, 2);

	wire_put_u8(&sub, 9);
	assert_false(wire_ok(&sub));
	assert_int_equal(buf[0], 1);

	struct wire wr = wire_writer(buf, sizeof(buf));
	wire_u8(&wr);
	struct wire wsub = wire_sub(&wr, 2);
	wire_put_u16(&wsub, 0xbeef);
	assert_true(wire_ok(&wsub));
	assert_int_equal(buf[1], 0xbe);
	assert_int_equal(buf[2], 0xef);
}

static void test_cstr(void **state)
{
	(void)state;
	const char pkt[] = "boot/pxelinux.0\0octet\0\0tsize";
	struct wire w = wire_reader(pkt, sizeof(pkt) - 1); /* last string unterminated */
	size_t len = 99;

	const char *s = wire_cstr(&w, &len);
	assert_string_equal(s, "boot/pxelinux.0");
	assert_int_equal(len, 15);
	s = wire_cstr(&w, &len);
	assert_string_equal(s, "octet");
	assert_int_equal(len, 5);
	s = wire_cstr(&w, &len);
	assert_non_null(s);
	assert_int_equal(len, 0);
	assert_true(wire_ok(&w));

	size_t before = wire_pos(&w);
	len = 99;
	assert_null(wire_cstr(&w, &len));
	assert_false(wire_ok(&w));
	assert_int_equal(wire_pos(&w), before);
	assert_int_equal(len, 99); /* untouched on failure */
	assert_null(wire_cstr(&w, &len));
}

static void test_cstr_at_end(void **state)
{
	(void)state;
	const uint8_t pkt[] = {'x', 0};
	struct wire w = wire_reader(pkt, sizeof(pkt));
	size_t len;

	assert_non_null(wire_cstr(&w, &len));
	assert_int_equal(wire_left(&w), 0);
	assert_null(wire_cstr(&w, &len)); /* nothing left: no string */
	assert_false(wire_ok(&w));
}

static void test_write(void **state)
{
	(void)state;
	uint8_t buf[16];
	const uint8_t want[] = {0x7f, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 'h', 'i', 0, 'x', 'y'};
	struct wire w = wire_writer(buf, sizeof(buf));

	wire_put_u8(&w, 0x7f);
	wire_put_u16(&w, 0x1234);
	wire_put_u32(&w, 0xdeadbeef);
	wire_put_cstr(&w, "hi");
	wire_put(&w, "xy", 2);
	wire_put(&w, NULL, 0);
	assert_true(wire_ok(&w));
	assert_int_equal(wire_pos(&w), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(wire_left(&w), sizeof(buf) - sizeof(want));
}

static void test_write_overflow_writes_nothing(void **state)
{
	(void)state;
	uint8_t buf[5];
	struct wire w = wire_writer(buf, sizeof(buf));

	memset(buf, 0xee, sizeof(buf));
	wire_put_u16(&w, 0x0102);
	wire_put_u32(&w, 0x03040506); /* 3 bytes left: nothing written */
	assert_false(wire_ok(&w));
	assert_int_equal(wire_pos(&w), 2);
	assert_int_equal(buf[2], 0xee);
	assert_int_equal(buf[3], 0xee);
	assert_int_equal(buf[4], 0xee);
	wire_put_u8(&w, 1); /* would fit, but the error is sticky */
	assert_int_equal(buf[2], 0xee);

	w = wire_writer(buf, sizeof(buf));
	wire_put_cstr(&w, "hello"); /* 6 bytes with the NUL */
	assert_false(wire_ok(&w));
	assert_int_equal(wire_pos(&w), 0);
}

static void test_reader_refuses_writes(void **state)
{
	(void)state;
	uint8_t buf[4] = {0};
	struct wire w = wire_reader(buf, sizeof(buf));

	wire_put_u32(&w, 0xffffffff);
	assert_false(wire_ok(&w));
	assert_int_equal(buf[0], 0);
}

static void test_writer_round_trip(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct wire w = wire_writer(buf, sizeof(buf));

	for (uint32_t i = 0; i < 8; i++)
		wire_put_u32(&w, i * 0x01010101u);
	assert_true(wire_ok(&w));
	struct wire r = wire_reader(buf, wire_pos(&w));
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(wire_u32(&r), i * 0x01010101u);
	assert_int_equal(wire_left(&r), 0);
	assert_true(wire_ok(&r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_big_endian),
	    cmocka_unit_test(test_error_is_sticky),
	    cmocka_unit_test(test_read_exact_end),
	    cmocka_unit_test(test_read_copy_and_skip),
	    cmocka_unit_test(test_skip_past_end),
	    cmocka_unit_test(test_huge_length_does_not_wrap),
	    cmocka_unit_test(test_empty_reader),
	    cmocka_unit_test(test_sub_cursor),
	    cmocka_unit_test(test_sub_of_reader_is_readonly),
	    cmocka_unit_test(test_cstr),
	    cmocka_unit_test(test_cstr_at_end),
	    cmocka_unit_test(test_write),
	    cmocka_unit_test(test_write_overflow_writes_nothing),
	    cmocka_unit_test(test_reader_refuses_writes),
	    cmocka_unit_test(test_writer_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
