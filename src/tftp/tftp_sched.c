#include "tftp/tftp_sched.h"

static void nop(struct timer *t, mono_t now)
{
	(void)t, (void)now;
}

#define ADAPT_INTERVAL MONO_MS(50)
#define AUTO_START_BPS 1e9 /* a 1 GbE port: a safe first guess */
#define AUTO_MIN_BPS 10e6

void sched_init(struct tftp_sched *s, uint64_t rate_bps, size_t burst)
{
	s->learning = rate_bps == SCHED_RATE_AUTO;
	s->slow_start = s->learning;
	s->acked_bytes = s->losses = 0;
	s->limited = false;
	s->interval_start = 0;
	if (s->learning)
		rate_bps = (uint64_t)AUTO_START_BPS;
	s->bytes_per_us = (double)rate_bps / 8e6;
	s->burst = (double)burst;
	s->tokens = s->burst;
	s->last = 0;
	timerq_init(&s->fresh);
	s->retry.prev = s->retry.next = &s->retry;
	s->backlog = 0;
	s->wake = MONO_NEVER;
}

void sched_fini(struct tftp_sched *s)
{
	timerq_fini(&s->fresh);
}

void sched_item_init(struct sched_item *it)
{
	timer_init(&it->node, nop);
	it->prev = it->next = NULL;
	it->queue = SCHED_NONE;
}

void sched_remove(struct tftp_sched *s, struct sched_item *it)
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

void sched_push(struct tftp_sched *s, struct sched_item *it, bool retry, mono_t deadline)
{
	if (it->queue == SCHED_RETRY && retry)
		return; /* keep its place */
	sched_remove(s, it);
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
	s->sent++;
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
		return true;
	}
	s->sent--; /* not released after all */
	/* Wake when half the bucket has refilled, not for every packet: a few
	 * packets per wake-up instead of a context switch per packet (at 500
	 * Mbit/s a packet is due every 24 us). */
	double need = (double)cost - s->tokens;
	if (need < s->burst / 2)
		need = s->burst / 2;
	s->wake = now + (mono_t)(need / s->bytes_per_us) + 1;
	s->limited = true;
	return false;
}

void sched_on_acked(struct tftp_sched *s, size_t bytes)
{
	s->acked_bytes += bytes;
}

void sched_on_loss(struct tftp_sched *s)
{
	s->losses++;
}

uint64_t sched_rate_bps(const struct tftp_sched *s)
{
	return (uint64_t)(s->bytes_per_us * 8e6);
}

/* AIMD on what the clients confirm: grow while nothing is lost and the
 * pacer is what limits us (x1.25 per interval until the first loss, then
 * +2%); on congestion, fall to 90% of the rate the clients actually
 * received (never below 70% of the current rate in one step). Congestion is
 * loss of more than a few packets and 0.5% of those sent in the interval:
 * a lone loss is a slow firmware's own, and slowing everyone for it would
 * only starve the others. */
mono_t sched_adapt(struct tftp_sched *s, mono_t now)
{
	double rate = s->bytes_per_us;
	mono_t span = now - s->interval_start;

	if (!s->learning)
		return MONO_NEVER;
	if (span < ADAPT_INTERVAL)
		return s->interval_start + ADAPT_INTERVAL;
	if (s->interval_start != 0) {
		double delivered = (double)s->acked_bytes / (double)span;
		bool congested = s->losses >= 2 && s->losses * 200 >= s->sent;
		if (congested) {
			double target = delivered * 0.9;
			rate = target > rate * 0.7 ? target : rate * 0.7;
			rate = rate < s->bytes_per_us ? rate : s->bytes_per_us;
			s->slow_start = false;
		} else if (s->limited) {
			rate *= s->slow_start ? 1.25 : 1.02;
		}
		if (rate < AUTO_MIN_BPS / 8e6)
			rate = AUTO_MIN_BPS / 8e6;
		s->bytes_per_us = rate;
	}
	s->interval_start = now;
	s->acked_bytes = s->losses = s->sent = 0;
	s->limited = false;
	return now + ADAPT_INTERVAL;
}

mono_t sched_wake(const struct tftp_sched *s)
{
	return sched_peek(s) ? s->wake : MONO_NEVER;
}

mono_t sched_backlog_time(const struct tftp_sched *s)
{
	if (s->bytes_per_us <= 0)
		return 0;
	return (mono_t)((double)s->backlog / s->bytes_per_us);
}
