/* A deterministic simulation of herd's TFTP scheduler: the real server
 * logic, a fake clock, N lock-step clients with a firmware's fixed retry
 * timer, and between them a switch port with a finite buffer (tail drop)
 * at link rate R and optional random loss, all in-process. It checks the
 * scheduler's promises: the buffer never overflows when the link rate is
 * known, no admitted client waits past its deadline (no client timer
 * fires), every client finishes, and the makespan stays near the link's
 * limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/timerq.h"
#include "tftp/tftp_sched.h"
#include "tftp/tftp_server.h"
#include "tftp/tftp_wire.h"

/* "Sent to": unknown (the server answers from the kernel's choice). */
static const struct ipaddr unknown_ip;

#define PKT_MAX 1600
#define DELAY MONO_US(50) /* one-way propagation */

struct packet {
	mono_t at;
	unsigned client;
	unsigned sock;
	bool request; /* to the well-known port */
	uint16_t len;
	uint8_t data[PKT_MAX];
};

struct fifo {
	struct packet *p;
	size_t head, tail, cap;
};

struct client {
	struct timer timer;
	unsigned idx;
	unsigned sock;
	bool started, done, failed, replied;
	uint16_t expect; /* next block */
	uint64_t received;
	mono_t done_at;
	unsigned tries;
	uint8_t last[PKT_MAX]; /* last packet sent, for a retry */
	uint16_t last_len;
	bool last_is_request;
};

struct sim {
	struct herd_config cfg;
	struct files *files;
	struct tftp_server *srv;
	struct client *clients;
	unsigned n;
	size_t file_size;
	struct timerq timers;
	struct fifo up, down;
	mono_t now;
	/* the switch port towards the clients */
	double rate; /* bytes per microsecond */
	size_t buffer;
	double last_departure; /* microseconds, exact: the link is not rounded */
	uint64_t overflow, lost, client_retries, done, failed;
	uint32_t loss_ppm;
	uint64_t rng;
	mono_t client_timeout;
	unsigned client_retries_max;
	mono_t makespan;
	char root[64];
};

static struct sim *current;

static uint32_t rnd(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (uint32_t)(s->rng % 1000000);
}

static struct packet *fifo_push(struct fifo *f)
{
	if (f->tail - f->head == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 1024;
		struct packet *p = malloc(cap * sizeof(*p));
		for (size_t i = f->head; i < f->tail; i++)
			p[i - f->head] = f->p[i % f->cap];
		free(f->p);
		f->p = p;
		f->tail -= f->head;
		f->head = 0;
		f->cap = cap;
	}
	return &f->p[f->tail++ % f->cap];
}

static struct packet *fifo_peek(struct fifo *f)
{
	return f->head < f->tail ? &f->p[f->head % f->cap] : NULL;
}

/* Server -> switch: tail drop when the port's buffer is full. */
static void server_send(void *ctx, unsigned sock, const struct netaddr *peer, struct ipaddr local_ip,
			const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
			size_t payload_len)
{
	struct sim *s = ctx;
	size_t cost = sched_wire_cost(hdr_len + payload_len);
	double start = s->last_departure > (double)s->now ? s->last_departure : (double)s->now;
	double queued = (start - (double)s->now) * s->rate;

	(void)local_ip;
	if (queued + (double)cost > (double)s->buffer) {
		s->overflow++;
		return;
	}
	s->last_departure = start + (double)cost / s->rate;
	if (s->loss_ppm && rnd(s) < s->loss_ppm) {
		s->lost++;
		return;
	}
	struct packet *p = fifo_push(&s->down);
	p->at = (mono_t)s->last_departure + 1 + DELAY;
	p->client = peer->port - 10000;
	p->sock = sock;
	p->len = (uint16_t)(hdr_len + payload_len);
	memcpy(p->data, hdr, hdr_len);
	if (payload_len)
		memcpy(p->data + hdr_len, payload, payload_len);
}

static void client_send(struct sim *s, struct client *c, const uint8_t *buf, size_t len,
			bool request)
{
	memcpy(c->last, buf, len);
	c->last_len = (uint16_t)len;
	c->last_is_request = request;
	timerq_set(&s->timers, &c->timer, s->now + s->client_timeout);
	if (s->loss_ppm && rnd(s) < s->loss_ppm) {
		s->lost++;
		return;
	}
	struct packet *p = fifo_push(&s->up);
	p->at = s->now + DELAY;
	p->client = c->idx;
	p->sock = c->sock;
	p->request = request;
	p->len = (uint16_t)len;
	memcpy(p->data, buf, len);
}

static void client_timeout(struct timer *t, mono_t now)
{
	struct client *c = (struct client *)t;
	struct sim *s = current;

	(void)now;
	if (++c->tries > s->client_retries_max) {
		c->failed = true;
		s->failed++;
		return;
	}
	s->client_retries++;
	client_send(s, c, c->last, c->last_len, c->last_is_request);
}

static void client_ack(struct sim *s, struct client *c, uint16_t block)
{
	uint8_t buf[4];

	tftp_build_ack(buf, sizeof(buf), block);
	client_send(s, c, buf, 4, false);
}

static void client_receive(struct sim *s, struct client *c, const struct packet *p)
{
	struct tftp_pkt pkt;

	if (c->done || c->failed || tftp_parse(p->data, p->len, &pkt) < 0)
		return;
	c->sock = p->sock;
	c->replied = true;
	if (pkt.op == TFTP_OACK) {
		if (c->expect == 1)
			client_ack(s, c, 0);
		return;
	}
	assert_int_equal(pkt.op, TFTP_DATA);
	if (pkt.data.block != c->expect) {
		client_ack(s, c, (uint16_t)(c->expect - 1)); /* re-ACK the last good one */
		return;
	}
	c->tries = 0;
	c->received += pkt.data.len;
	c->expect++;
	if (pkt.data.len < 1432) {
		uint8_t buf[4];
		tftp_build_ack(buf, sizeof(buf), pkt.data.block);
		timerq_cancel(&s->timers, &c->timer);
		struct packet *q = fifo_push(&s->up);
		q->at = s->now + DELAY, q->client = c->idx, q->sock = c->sock, q->request = false;
		q->len = 4;
		memcpy(q->data, buf, 4);
		c->done = true;
		c->done_at = s->now;
		s->done++;
		assert_int_equal(c->received, s->file_size);
		if (s->now > s->makespan)
			s->makespan = s->now;
		return;
	}
	client_ack(s, c, pkt.data.block);
}

static void client_start(struct sim *s, struct client *c)
{
	uint8_t buf[128];
	struct tftp_opts o = {.has_blksize = true, .blksize = 1432, .has_tsize = true};
	size_t n = tftp_build_rrq(buf, sizeof(buf), "img", TFTP_MODE_OCTET, &o);

	c->started = true;
	c->expect = 1;
	client_send(s, c, buf, n, true);
}

static bool knows_everyone(void *ctx, const struct ipaddr *ip)
{
	(void)ctx, (void)ip;
	return true;
}

static void sim_setup(struct sim *s, unsigned n, size_t file_size, uint64_t rate_bps, size_t buffer,
		      uint32_t loss_ppm)
{
	char path[128];
	int fd;
	struct tftp_tx tx = {s, server_send};

	memset(s, 0, sizeof(*s));
	current = s;
	strcpy(s->root, "/tmp/herd-sim-XXXXXX");
	assert_non_null(mkdtemp(s->root));
	snprintf(path, sizeof(path), "%s/img", s->root);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	for (size_t i = 0; i < file_size; i++)
		assert_int_equal(write(fd, "h", 1), 1);
	close(fd);
	s->file_size = file_size;
	conf_defaults(&s->cfg);
	s->cfg.tftp.link_rate = rate_bps;
	/* Every simulated client has the same address (ports tell them
	 * apart), and all are nodes DHCP knows, as in a cluster. */
	s->cfg.tftp.source_rate = 0;
	s->files = files_new(open(s->root, O_PATH | O_DIRECTORY), MONO_SEC(10));
	s->srv = tftp_server_new(&s->cfg.tftp, s->files, &tx);
	tftp_server_set_known(s->srv, &(struct tftp_known){NULL, knows_everyone});
	s->n = n;
	s->clients = calloc(n, sizeof(*s->clients));
	timerq_init(&s->timers);
	for (unsigned i = 0; i < n; i++) {
		s->clients[i].idx = i;
		timer_init(&s->clients[i].timer, client_timeout);
	}
	s->rate = (double)rate_bps / 8e6;
	s->buffer = buffer;
	s->loss_ppm = loss_ppm;
	s->rng = 88172645463325252ull;
	s->client_timeout = MONO_SEC(1); /* "strict": fixed 1 s, 3 retries, fatal */
	s->client_retries_max = 3;
	s->now = MONO_SEC(1);
}

static void sim_run(struct sim *s, mono_t limit)
{
	for (unsigned i = 0; i < s->n; i++)
		client_start(s, &s->clients[i]); /* power-on: all at once */
	while (s->done + s->failed < s->n && s->now < limit) {
		mono_t next = tftp_server_next_deadline(s->srv);
		struct packet *p;
		mono_t t = timerq_next(&s->timers);
		if (t < next)
			next = t;
		if ((p = fifo_peek(&s->up)) && p->at < next)
			next = p->at;
		if ((p = fifo_peek(&s->down)) && p->at < next)
			next = p->at;
		assert_true(next != MONO_NEVER);
		if (next > s->now)
			s->now = next;
		while ((p = fifo_peek(&s->up)) && p->at <= s->now) {
			struct netaddr peer = {IPADDR_V4_INIT(10, 0, 0, 1), (uint16_t)(10000 + p->client)};
			s->up.head++;
			if (p->request)
				tftp_server_request(s->srv, &peer, unknown_ip, p->data, p->len, s->now);
			else
				tftp_server_input(s->srv, p->sock, &peer, unknown_ip, p->data, p->len,
						  s->now, s->now);
		}
		while ((p = fifo_peek(&s->down)) && p->at <= s->now) {
			s->down.head++;
			client_receive(s, &s->clients[p->client], p);
		}
		timerq_run(&s->timers, s->now);
		tftp_server_tick(s->srv, s->now);
	}
}

static void sim_teardown(struct sim *s)
{
	char cmd[128];

	tftp_server_free(s->srv, s->now);
	files_free(s->files);
	timerq_fini(&s->timers);
	free(s->clients);
	free(s->up.p);
	free(s->down.p);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->root);
	assert_int_equal(system(cmd), 0);
}

/* Scenario A in miniature: a power-on burst behind a 128 KB port. */
static void test_burst_never_overflows_the_switch(void **state)
{
	struct sim *s = malloc(sizeof(*s));
	uint64_t rate = 500000000;
	size_t size = 80 * 1024;

	(void)state;
	sim_setup(s, 500, size, rate, 128 * 1024, 0);
	sim_run(s, MONO_SEC(60));
	double ideal = (double)s->n * (double)(size + size / 1432 * 46) * 8 / (double)rate;
	double makespan = (double)(s->makespan - MONO_SEC(1)) / 1e6;
	printf("burst: %u clients, %llu done, %llu failed, %llu overflow, %llu client retries, "
	       "makespan %.3f s (ideal %.3f s)\n",
	       s->n, (unsigned long long)s->done, (unsigned long long)s->failed,
	       (unsigned long long)s->overflow, (unsigned long long)s->client_retries, makespan,
	       ideal);
	assert_int_equal(s->done, s->n);
	assert_int_equal(s->overflow, 0);
	assert_int_equal(s->client_retries, 0); /* nobody waited past its deadline */
	assert_true(makespan <= ideal * 1.15);
	sim_teardown(s);
	free(s);
}

/* Without pacing the same burst overruns the port: the problem herd
 * exists to solve, shown by the same simulator. */
static void test_unpaced_burst_overflows(void **state)
{
	struct sim *s = malloc(sizeof(*s));

	(void)state;
	sim_setup(s, 500, 80 * 1024, 0, 128 * 1024, 0);
	s->rate = 500000000 / 8e6; /* the link is still 500 Mbit/s */
	sim_run(s, MONO_SEC(60));
	printf("unpaced: %llu overflow, %llu client retries, %llu failed\n",
	       (unsigned long long)s->overflow, (unsigned long long)s->client_retries,
	       (unsigned long long)s->failed);
	assert_true(s->overflow > 0);
	sim_teardown(s);
	free(s);
}

static void test_loss_every_client_finishes(void **state)
{
	struct sim *s = malloc(sizeof(*s));

	(void)state;
	sim_setup(s, 200, 256 * 1024, 500000000, 128 * 1024, 10000); /* 1% each way */
	sim_run(s, MONO_SEC(120));
	printf("loss: %llu done, %llu failed, %llu lost, %llu overflow, %llu client retries\n",
	       (unsigned long long)s->done, (unsigned long long)s->failed,
	       (unsigned long long)s->lost, (unsigned long long)s->overflow,
	       (unsigned long long)s->client_retries);
	assert_int_equal(s->done, s->n);
	assert_int_equal(s->overflow, 0);
	sim_teardown(s);
	free(s);
}

struct outcome {
	uint64_t done, failed, overflow, sent, client_retries;
	double makespan;  /* seconds */
	double p95;	  /* seconds until 95% of the clients were done */
	double rate_mbps; /* the pacer's rate at the end */
};

static int cmp_mono(const void *a, const void *b)
{
	mono_t x = *(const mono_t *)a, y = *(const mono_t *)b;

	return x < y ? -1 : x > y;
}

/* With random loss the last client's finish is a matter of luck (a few
 * losses in a row back its timer off); the 95th percentile is what the
 * pacer decides. */
static double p95_done(const struct sim *s)
{
	mono_t *t = calloc(s->n, sizeof(*t));
	double p;

	for (unsigned i = 0; i < s->n; i++)
		t[i] = s->clients[i].done ? s->clients[i].done_at : MONO_NEVER;
	qsort(t, s->n, sizeof(*t), cmp_mono);
	p = (double)(t[s->n * 95 / 100] - MONO_SEC(1)) / 1e6;
	free(t);
	return p;
}

/* n clients x size behind a port of link_bps, with herd's link_rate set to
 * cfg_rate (SCHED_RATE_AUTO: learned) and loss_ppm random loss each way. */
static struct outcome run_case(const char *what, unsigned n, size_t size, uint64_t link_bps,
			       uint64_t cfg_rate, uint32_t loss_ppm)
{
	struct sim *s = malloc(sizeof(*s));
	struct outcome o;

	sim_setup(s, n, size, cfg_rate, 128 * 1024, loss_ppm);
	s->rate = (double)link_bps / 8e6;
	sim_run(s, MONO_SEC(300));
	o.done = s->done;
	o.failed = s->failed;
	o.overflow = s->overflow;
	o.sent = tftp_server_stats(s->srv)->data_sent;
	o.client_retries = s->client_retries;
	o.makespan = (double)(s->makespan - MONO_SEC(1)) / 1e6;
	o.p95 = p95_done(s);
	o.rate_mbps = (double)tftp_server_rate(s->srv) / 1e6;
	printf("%-28s %s: %llu done, %llu failed, %llu overflow of %llu sent, %llu client "
	       "retries, p95 %.3f s, makespan %.3f s (wire %.3f s), rate now %.0f Mbit/s\n",
	       what, cfg_rate == SCHED_RATE_AUTO ? "auto      " : "configured",
	       (unsigned long long)o.done, (unsigned long long)o.failed,
	       (unsigned long long)o.overflow, (unsigned long long)o.sent,
	       (unsigned long long)o.client_retries, o.p95, o.makespan,
	       (double)n * (double)(size + (size / 1432 + 1) * 46) * 8 / (double)link_bps,
	       o.rate_mbps);
	sim_teardown(s);
	free(s);
	return o;
}

/* No link rate configured: herd learns it from the delivery rate and the
 * queue it sees in the round trip, and does as well as a configured herd:
 * every client finishes, the switch drops (almost) nothing, the makespan is
 * within a few percent. Random loss does not slow it down. */
static void compare(const char *what, unsigned n, size_t size, uint64_t link_bps, uint32_t loss_ppm,
		    double overflow_max)
{
	struct outcome c = run_case(what, n, size, link_bps, link_bps, loss_ppm);
	struct outcome a = run_case(what, n, size, link_bps, SCHED_RATE_AUTO, loss_ppm);

	assert_int_equal(a.done, n);
	assert_int_equal(c.done, n);
	assert_true((double)a.overflow <= overflow_max * (double)a.sent);
	assert_true(a.p95 <= c.p95 * 1.05);
	assert_true(a.makespan <= c.makespan * (loss_ppm ? 1.5 : 1.05));
}

static void test_learned_rate_slow_port(void **state)
{
	(void)state;
	compare("200 x 1 MB at 200 Mbit/s", 200, 1 << 20, 200000000, 0, 0.001);
}

static void test_learned_rate_random_loss(void **state)
{
	(void)state;
	compare("200 x 1 MB, 1% loss", 200, 1 << 20, 500000000, 10000, 0.001);
}

static void test_learned_rate_burst(void **state)
{
	(void)state;
	compare("1000 x 80 KB at 500 Mbit/s", 1000, 80 * 1024, 500000000, 0, 0.001);
}

/* The scheduler's order: a transfer that retried goes before fresh data,
 * fresh data goes earliest deadline first. */
static void test_retry_served_first(void **state)
{
	struct tftp_sched s;
	struct sched_item a, b, c;

	(void)state;
	assert_int_equal(sched_init(&s, 1000000, 1500, 16), 0);
	sched_item_init(&a);
	sched_item_init(&b);
	sched_item_init(&c);
	/* The backlog is the scheduler's: the sum of what its items owe. */
	sched_owe(&s, &a, 3000);
	sched_push(&s, &a, false, MONO_MS(30));
	sched_owe(&s, &b, 1500);
	sched_push(&s, &b, false, MONO_MS(10));
	assert_int_equal(s.backlog, 4500);
	sched_owe(&s, &a, 1000);
	assert_int_equal(s.backlog, 2500);
	assert_ptr_equal(sched_peek(&s), &b);
	sched_push(&s, &c, true, MONO_MS(90));
	assert_ptr_equal(sched_peek(&s), &c);
	sched_remove(&s, &c);
	assert_ptr_equal(sched_peek(&s), &b);
	sched_remove(&s, &a);
	assert_int_equal(s.backlog, 1500);
	sched_push(&s, &b, true, 0); /* moving an item keeps what it owes */
	assert_int_equal(s.backlog, 1500);
	/* 1 Mbit/s = 0.125 bytes/us: 1500 bytes of tokens, then a wait. */
	assert_true(sched_take(&s, 1500, MONO_SEC(1)));
	assert_false(sched_take(&s, 1500, MONO_SEC(1)));
	assert_int_equal(sched_wake(&s), MONO_SEC(1) + 12000 + 1);
	sched_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_served_first),
	    cmocka_unit_test(test_burst_never_overflows_the_switch),
	    cmocka_unit_test(test_unpaced_burst_overflows),
	    cmocka_unit_test(test_loss_every_client_finishes),
	    cmocka_unit_test(test_learned_rate_slow_port),
	    cmocka_unit_test(test_learned_rate_random_loss),
	    cmocka_unit_test(test_learned_rate_burst),
	};
	return cmocka_run_group_tests_name("tftp_sim", tests, NULL, NULL);
}
