/* The learned link rate (tftp_rate.c) against a fluid model of a switch
 * port: each round the pacer offers rate x time (or what the clients supply,
 * if less), the port forwards at most R x time plus its queue, keeps the
 * rest up to its buffer and drops the overflow; the round trip is the base
 * plus the queue's drain time, and random loss takes a share of what was
 * delivered. It checks what the estimator promises: it finds the port's
 * rate, keeps the queue far under the buffer, ignores random loss, follows
 * a port that slows down, never runs far ahead of what the clients take,
 * and learns a longer path instead of starving on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "tftp/tftp_rate.h"

#define BUFFER (128.0 * 1024)

struct port {
	double rate;	 /* bytes/us */
	double queue;	 /* bytes */
	double base_rtt; /* us */
	double loss;	 /* random loss, fraction */
	double supply;	 /* most the clients take, bytes/us (0: no limit) */
	double overflow; /* bytes dropped at the buffer */
	double offered;	 /* bytes the pacer sent */
	double delivered;
	mono_t now;
};

static double mbps(double bytes_per_us)
{
	return bytes_per_us * 8;
}

/* Runs the estimator against the port for `time` microseconds. */
static void run(struct rate_est *r, struct port *p, mono_t time)
{
	mono_t end = p->now + time, next = p->now;

	while (p->now < end) {
		mono_t step = MONO_US(250);
		double want = r->rate * (double)step;
		bool limited = p->supply == 0 || p->supply > r->rate;
		double sent = limited ? want : p->supply * (double)step;
		double out = p->rate * (double)step;
		double through = sent + p->queue < out ? sent + p->queue : out;

		p->queue += sent - through;
		if (p->queue > BUFFER) {
			p->overflow += p->queue - BUFFER;
			p->queue = BUFFER;
		}
		p->offered += sent;
		p->delivered += through;
		p->now += step;
		for (int i = 0; i < 4; i++)
			rate_on_sent(r, false);
		if (limited)
			rate_on_sent(r, true);
		rate_on_acked(r, (uint64_t)(through * (1 - p->loss)));
		for (double l = through / 1500 * p->loss; l >= 1; l--)
			rate_on_loss(r);
		rate_on_rtt(r, (mono_t)(p->base_rtt + p->queue / p->rate), p->now);
		if (p->now >= next)
			next = rate_update(r, false, p->now);
	}
}

static struct port port_at(double bps)
{
	struct port p = {.rate = bps / 8e6, .base_rtt = 100, .now = MONO_SEC(1)};

	return p;
}

static void test_finds_the_port_rate(void **state)
{
	struct rate_est r;
	struct port p = port_at(500e6);

	(void)state;
	rate_init(&r, 10000000000ull, false);
	run(&r, &p, MONO_SEC(3));
	printf("500 Mbit/s port: rate %.0f Mbit/s, utilisation %.3f, overflow %.0f B\n",
	       mbps(r.rate), p.delivered / (p.rate * (MONO_SEC(3))), p.overflow);
	assert_true(p.delivered >= 0.95 * p.rate * MONO_SEC(3));
	assert_true(p.overflow == 0);
	assert_true(mbps(r.rate) < 600);
}

static void test_random_loss_is_not_congestion(void **state)
{
	struct rate_est r;
	struct port p = port_at(500e6);

	(void)state;
	p.loss = 0.02; /* 1% each way */
	rate_init(&r, 0, false);
	run(&r, &p, MONO_SEC(3));
	printf("2%% random loss: rate %.0f Mbit/s, utilisation %.3f\n", mbps(r.rate),
	       p.delivered / (p.rate * (MONO_SEC(3))));
	assert_true(p.delivered >= 0.95 * p.rate * MONO_SEC(3));
	assert_true(p.overflow == 0);
}

static void test_follows_a_slower_port(void **state)
{
	struct rate_est r;
	struct port p = port_at(1000e6);

	(void)state;
	rate_init(&r, 0, false);
	run(&r, &p, MONO_SEC(1));
	p.rate = 200e6 / 8e6; /* the uplink is shared now */
	p.overflow = 0;
	run(&r, &p, MONO_SEC(2));
	printf("1 Gbit/s then 200 Mbit/s: rate %.0f Mbit/s, overflow %.0f B, queue %.0f B\n",
	       mbps(r.rate), p.overflow, p.queue);
	assert_true(mbps(r.rate) > 170 && mbps(r.rate) < 240);
	assert_true(p.queue < BUFFER / 2);
	assert_true(p.overflow < 512 * 1024); /* a few rounds to react, no more */
}

static void test_never_far_ahead_of_the_clients(void **state)
{
	struct rate_est r;
	struct port p = port_at(1000e6);

	(void)state;
	rate_init(&r, 10000000000ull, false);
	p.supply = 100e6 / 8e6; /* slow clients: they set the pace */
	run(&r, &p, MONO_SEC(2));
	printf("clients take 100 Mbit/s of a 1 Gbit/s port: rate %.0f Mbit/s\n", mbps(r.rate));
	assert_true(mbps(r.rate) <= 160);
}

static void test_longer_path_is_learned(void **state)
{
	struct rate_est r;
	struct port p = port_at(500e6);

	(void)state;
	rate_init(&r, 0, false);
	run(&r, &p, MONO_SEC(1));
	p.base_rtt += 400; /* the nearest clients are done: 0.4 ms farther */
	run(&r, &p, MONO_SEC(2));
	printf("base round trip +0.4 ms: rate %.0f Mbit/s, floor %lld us\n", mbps(r.rate),
	       (long long)r.min_rtt);
	assert_true(mbps(r.rate) > 450);
	assert_true(r.min_rtt >= 400);
}

static void test_configured_rate_is_the_ceiling(void **state)
{
	struct rate_est r;
	struct port p = port_at(500e6);

	(void)state;
	rate_init(&r, 500000000, true);
	assert_true(mbps(r.rate) == 500);
	run(&r, &p, MONO_SEC(2));
	assert_true(mbps(r.rate) <= 500);
	assert_true(p.delivered >= 0.97 * p.rate * MONO_SEC(2));
	assert_true(p.overflow == 0);
	/* Idle, then the next power-on: straight back at the configured rate. */
	rate_update(&r, true, p.now);
	assert_true(mbps(r.rate) == 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_finds_the_port_rate),
	    cmocka_unit_test(test_random_loss_is_not_congestion),
	    cmocka_unit_test(test_follows_a_slower_port),
	    cmocka_unit_test(test_never_far_ahead_of_the_clients),
	    cmocka_unit_test(test_longer_path_is_learned),
	    cmocka_unit_test(test_configured_rate_is_the_ceiling),
	};
	return cmocka_run_group_tests_name("tftp_rate", tests, NULL, NULL);
}
