#include "tftp/tftp_sched.h"

static void nop(struct timer *t, mono_t now)
{
	(void)t, (void)now;
}

int sched_init(struct tftp_sched *s, uint64_t rate_bps, size_t burst, uint32_t items)
{
	/* Every paced rate goes through the estimator: learned from scratch
	 * (auto), or configured and only guarded against a standing queue. */
	s->learning = rate_bps != 0;
	if (rate_bps == SCHED_RATE_AUTO)
		rate_init(&s->est, 0, false);
	else
		rate_init(&s->est, rate_bps, true);
	s->bytes_per_us = s->learning ? s->est.rate : 0;
	s->burst = (double)burst;
	s->tokens = s->burst;
	s->last = 0;
	timerq_init(&s->fresh);
	s->retry.prev = s->retry.next = &s->retry;
	s->backlog = 0;
	s->wake = MONO_NEVER;
	return timerq_reserve(&s->fresh, items);
}

void sched_fini(struct tftp_sched *s)
{
	timerq_fini(&s->fresh);
}

int sched_reserve(struct tftp_sched *s, uint32_t more)
{
	return timerq_reserve(&s->fresh, s->fresh.cap + more);
}

void sched_item_init(struct sched_item *it)
{
	timer_init(&it->node, nop);
	it->prev = it->next = NULL;
	it->owed = 0;
	it->queue = SCHED_NONE;
	it->ops = NULL;
}

void sched_owe(struct tftp_sched *s, struct sched_item *it, uint64_t bytes)
{
	s->backlog = s->backlog - it->owed + bytes;
	it->owed = bytes;
}

static void unqueue(struct tftp_sched *s, struct sched_item *it)
{
	if (it->queue == SCHED_FRESH) {
		timerq_cancel(&s->fresh, &it->node);
	} else if (it->queue == SCHED_RETRY) {
		it->prev->next = it->next;
		it->next->prev = it->prev;
		it->prev = it->next = NULL;
	}
	it->queue = SCHED_NONE;
}

void sched_remove(struct tftp_sched *s, struct sched_item *it)
{
	unqueue(s, it);
	sched_owe(s, it, 0);
}

void sched_push(struct tftp_sched *s, struct sched_item *it, bool retry, mono_t deadline)
{
	if (it->queue == SCHED_RETRY && retry)
		return; /* keep its place */
	unqueue(s, it);
	if (retry) {
		it->prev = s->retry.prev;
		it->next = &s->retry;
		s->retry.prev->next = it;
		s->retry.prev = it;
		it->queue = SCHED_RETRY;
	} else {
		timerq_set(&s->fresh, &it->node, deadline);
		it->queue = SCHED_FRESH;
	}
}

struct sched_item *sched_peek(const struct tftp_sched *s)
{
	if (s->retry.next != &s->retry)
		return s->retry.next;
	if (s->fresh.count)
		return (struct sched_item *)((char *)s->fresh.heap[0] -
					     offsetof(struct sched_item, node));
	return NULL;
}

bool sched_take(struct tftp_sched *s, size_t cost, mono_t now)
{
	if (s->bytes_per_us <= 0)
		return true;
	if (now > s->last) {
		s->tokens += (double)(now - s->last) * s->bytes_per_us;
		if (s->tokens > s->burst)
			s->tokens = s->burst;
		s->last = now;
	}
	if (s->tokens >= (double)cost) {
		s->tokens -= (double)cost;
		s->wake = MONO_NEVER;
		rate_on_sent(&s->est, false);
		return true;
	}
	rate_on_sent(&s->est, true);
	/* Wake when half the bucket has refilled, not for every packet: a few
	 * packets per wake-up instead of a context switch per packet (at 500
	 * Mbit/s a packet is due every 24 us). */
	double need = (double)cost - s->tokens;
	if (need < s->burst / 2)
		need = s->burst / 2;
	s->wake = now + (mono_t)(need / s->bytes_per_us) + 1;
	return false;
}

void sched_on_acked(struct tftp_sched *s, size_t wire_bytes)
{
	rate_on_acked(&s->est, wire_bytes);
}

void sched_on_rtt(struct tftp_sched *s, mono_t rtt, mono_t now)
{
	rate_on_rtt(&s->est, rtt, now);
}

void sched_on_loss(struct tftp_sched *s)
{
	rate_on_loss(&s->est);
}

void sched_set_ceiling(struct tftp_sched *s, uint64_t bps)
{
	if (s->est.fixed)
		return; /* the configured rate is the ceiling */
	rate_set_ceiling(&s->est, bps);
	if (s->learning && s->est.mode == RATE_STARTUP)
		s->bytes_per_us = s->est.start;
}

uint64_t sched_rate_bps(const struct tftp_sched *s)
{
	return (uint64_t)(s->bytes_per_us * 8e6);
}

mono_t sched_adapt(struct tftp_sched *s, bool idle, mono_t now)
{
	mono_t next;

	if (!s->learning)
		return MONO_NEVER;
	next = rate_update(&s->est, idle, now);
	s->bytes_per_us = s->est.rate;
	return next;
}

mono_t sched_wake(const struct tftp_sched *s)
{
	return sched_peek(s) ? s->wake : MONO_NEVER;
}

void sched_kick(struct tftp_sched *s, mono_t now)
{
	if (s->wake > now)
		s->wake = now;
}

mono_t sched_backlog_time(const struct tftp_sched *s)
{
	if (s->bytes_per_us <= 0)
		return 0;
	return (mono_t)((double)s->backlog / s->bytes_per_us);
}
