#include "tftp/tftp_rate.h"

/* A round is at least this long (enough acknowledgements to measure a rate
 * at 100 Mbit/s) and at least two round trips. */
#define ROUND_MIN MONO_MS(2)
#define ROUND_MAX MONO_MS(50)
/* The queue the pacer tolerates at the bottleneck before it backs off: well
 * under the smallest switch port buffer it should work with (128 KB), and
 * never less than what the round trip can resolve on a busy host. */
#define QUEUE_TARGET_BYTES (32.0 * 1024)
#define QUEUE_TARGET_MIN_US 200.0
/* A queue above the target is drained within about this time, sending at
 * 2-25% under the delivery rate: the link stays busy while it drains. */
#define DRAIN_US 50000.0
/* A queue that draining has not emptied in this time is not a queue. */
#define DRAIN_STUCK MONO_MS(300)
/* Startup: x1.25 a round until the queue shows or delivery stops following;
 * cruise: +1% a round while the pacer is what limits sending. */
#define STARTUP_GAIN 1.25
#define CRUISE_GAIN 1.01
#define CRUISE_FAST_GAIN 1.05
/* Cruise never sends faster than this times the best recent delivery rate
 * (which fades by PEAK_DECAY a round: about 0.5 s to halve). */
#define PEAK_GAIN 1.5
#define PEAK_DECAY 0.997
#define START_BPS 100e6
#define MIN_BPS 2e6
/* Startup ends after this many rounds in a row in which the acknowledgements
 * did not keep up with the pacer; cruise grows faster after this many
 * rounds without any queue while the pacer limited sending (far under the
 * bottleneck, e.g. after a dip in the delivery rate that was not the
 * link's). */
#define LAG_ROUNDS 3
#define EMPTY_ROUNDS 10
/* Loss this heavy is congestion even without a queue in sight (a switch
 * buffer too small to show one): random loss on real links is far lower. */
#define LOSS_CONGESTION 0.10

static double bps_to_rate(double bps)
{
	return bps / 8e6;
}

void rate_set_ceiling(struct rate_est *r, uint64_t ceiling_bps)
{
	r->ceiling = bps_to_rate((double)ceiling_bps);
	r->start = bps_to_rate(START_BPS);
	if (r->ceiling > 0 && r->start > r->ceiling)
		r->start = r->ceiling;
}

static void round_reset(struct rate_est *r, mono_t now)
{
	r->round_start = now;
	r->acked = r->sent = r->losses = 0;
	r->limited = false;
	r->round_min = MONO_NEVER;
}

static void startup(struct rate_est *r)
{
	/* A configured rate needs no search: cruise at it from the start. */
	r->mode = r->fixed ? RATE_CRUISE : RATE_STARTUP;
	r->rate = r->fixed ? r->ceiling : r->start;
	r->min_rtt = MONO_NEVER;
	r->last_rtt = 0;
	r->draining = false;
	r->lag_rounds = r->empty_rounds = 0;
	r->peak = 0;
	r->round_start = 0;
	for (unsigned i = 0; i < RATE_WINDOW; i++)
		r->win_acked[i] = 0, r->win_span[i] = 0;
}

/* Adds the round that ends to the window; returns the window's rate. */
static double window_rate(struct rate_est *r, uint64_t acked, mono_t span)
{
	uint64_t bytes = 0;
	mono_t time = 0;

	r->win_acked[r->win_pos] = acked;
	r->win_span[r->win_pos] = span;
	r->win_pos = (r->win_pos + 1) % RATE_WINDOW;
	for (unsigned i = 0; i < RATE_WINDOW; i++)
		bytes += r->win_acked[i], time += r->win_span[i];
	return time > 0 ? (double)bytes / (double)time : 0;
}

void rate_init(struct rate_est *r, uint64_t ceiling_bps, bool fixed)
{
	*r = (struct rate_est){0};
	r->fixed = fixed && ceiling_bps > 0;
	rate_set_ceiling(r, ceiling_bps);
	startup(r);
	round_reset(r, 0);
}

void rate_on_acked(struct rate_est *r, uint64_t wire_bytes)
{
	r->acked += wire_bytes;
}

void rate_on_loss(struct rate_est *r)
{
	r->losses++;
}

void rate_on_sent(struct rate_est *r, bool waited)
{
	if (waited)
		r->limited = true;
	else
		r->sent++;
}

void rate_on_rtt(struct rate_est *r, mono_t rtt, mono_t now)
{
	(void)now;
	if (rtt < 1)
		rtt = 1;
	if (rtt < r->round_min)
		r->round_min = rtt;
	if (rtt < r->min_rtt)
		r->min_rtt = rtt;
}

/* Bytes queued at the bottleneck: the round's smallest round trip over the
 * floor, times the rate the queue drains at. The smallest sample of a round
 * is the standing queue; larger ones are a client's own delays. */
static double queue_bytes(const struct rate_est *r, double delivered)
{
	if (r->round_min == MONO_NEVER || r->min_rtt == MONO_NEVER)
		return 0;
	return (double)(r->round_min - r->min_rtt) * delivered;
}

/* `drain_rate`: what the bottleneck delivers (not what we send: a rate far
 * above the link must not raise the target with it). */
static double queue_target(double drain_rate)
{
	double t = QUEUE_TARGET_MIN_US * drain_rate;

	return t > QUEUE_TARGET_BYTES ? t : QUEUE_TARGET_BYTES;
}

/* Sends under the delivery rate until the queue is down to a quarter of
 * the target: by 2-25%, so that it drains in about DRAIN_US. */
static void drain(struct rate_est *r, double delivered, double queue, mono_t now)
{
	double eps = delivered > 0 ? queue / (delivered * DRAIN_US) : 0.25;
	double next;

	eps = eps < 0.02 ? 0.02 : eps > 0.25 ? 0.25 : eps;
	next = delivered * (1 - eps);
	if (next < r->rate)
		r->rate = next;
	if (!r->draining) {
		r->draining = true;
		r->drain_start = now;
		r->drain_rtt = MONO_NEVER;
	}
}

static void cruise(struct rate_est *r, double round_rate, double delivered, double queue,
		   bool heavy_loss, mono_t now)
{
	double target = queue_target(delivered);

	if (heavy_loss && queue < target)
		queue = target;
	/* A queue above the target: drain it. While draining, cut again only
	 * if the pacer still sends faster than the port delivers (the queue
	 * is not draining); the port's rate is what this round delivered,
	 * which is exact while a queue stands, and follows a port that just
	 * slowed down faster than the window does. */
	if (queue > target && (!r->draining || (r->limited && r->rate > round_rate))) {
		drain(r, round_rate < delivered ? round_rate : delivered, queue, now);
		return;
	}
	if (r->draining) {
		if (r->round_min < r->drain_rtt)
			r->drain_rtt = r->round_min;
		if (queue <= target / 4) {
			/* Drained, and the link still busy: resume at what it
			 * delivers rather than let it idle while the rate grows. */
			r->draining = false;
			if (r->rate < delivered)
				r->rate = delivered;
		} else if (now - r->drain_start > DRAIN_STUCK && r->drain_rtt != MONO_NEVER) {
			/* Sending under the delivery rate did not shrink it: the
			 * clients left are farther away. That is the new floor. */
			r->min_rtt = r->drain_rtt;
			r->draining = false;
		}
		return;
	}
	if (!r->limited)
		return;
	r->empty_rounds = queue < target / 8 ? r->empty_rounds + 1 : 0;
	r->rate *= r->empty_rounds >= EMPTY_ROUNDS ? CRUISE_FAST_GAIN : CRUISE_GAIN;
	/* Growing far past what the clients take proves nothing (they, not
	 * the link, set the pace) and would be a burst once they speed up. */
	if (!r->fixed && r->rate > PEAK_GAIN * r->peak && PEAK_GAIN * r->peak > r->start)
		r->rate = PEAK_GAIN * r->peak;
}

static void adapt(struct rate_est *r, double round_rate, double delivered, mono_t now)
{
	/* In startup the window lags a rate that grows every round. */
	double drain_rate = round_rate > delivered ? round_rate : delivered;
	double queue = queue_bytes(r, drain_rate);
	bool heavy_loss = r->losses >= 8 && (double)r->losses > LOSS_CONGESTION * (double)r->sent;

	if (r->mode == RATE_CRUISE) {
		cruise(r, round_rate, delivered, queue, heavy_loss, now);
		return;
	}
	/* Startup ends when a queue shows, or when the clients' acknowledgements
	 * stop following the pacer (the pipe is full): what got through is the
	 * bottleneck's rate. */
	r->lag_rounds = r->limited && r->round_min != MONO_NEVER && round_rate < 0.8 * r->rate
			    ? r->lag_rounds + 1
			    : 0;
	if (queue > queue_target(drain_rate) / 4 || heavy_loss || r->lag_rounds >= LAG_ROUNDS) {
		r->mode = RATE_CRUISE;
		r->empty_rounds = 0;
		/* Startup's rounds grew every time: measure cruise afresh. */
		for (unsigned i = 0; i < RATE_WINDOW; i++)
			if (i != (r->win_pos + RATE_WINDOW - 1) % RATE_WINDOW)
				r->win_acked[i] = 0, r->win_span[i] = 0;
		if (drain_rate > r->rate / 2) /* a floor against a round of stragglers */
			r->rate = drain_rate;
		drain(r, drain_rate, queue, now);
	} else if (r->limited) {
		r->rate *= STARTUP_GAIN;
	}
}

mono_t rate_update(struct rate_est *r, bool idle, mono_t now)
{
	mono_t len = 2 * r->last_rtt;
	double round_rate, delivered;

	if (idle) { /* the next power-on starts over: it may be another rack */
		startup(r);
		round_reset(r, now);
		return MONO_NEVER;
	}
	if (r->round_start == 0) {
		round_reset(r, now);
		return now + ROUND_MIN;
	}
	len = len < ROUND_MIN ? ROUND_MIN : len > ROUND_MAX ? ROUND_MAX : len;
	if (now - r->round_start < len)
		return r->round_start + len;
	round_rate = (double)r->acked / (double)(now - r->round_start);
	delivered = window_rate(r, r->acked, now - r->round_start);
	r->peak = delivered > r->peak * PEAK_DECAY ? delivered : r->peak * PEAK_DECAY;
	adapt(r, round_rate, delivered, now);
	if (r->rate < bps_to_rate(MIN_BPS))
		r->rate = bps_to_rate(MIN_BPS);
	if (r->ceiling > 0 && r->rate > r->ceiling)
		r->rate = r->ceiling;
	if (r->round_min != MONO_NEVER)
		r->last_rtt = r->round_min;
	round_reset(r, now);
	return now + len;
}
