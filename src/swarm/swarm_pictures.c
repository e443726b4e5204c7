#include "swarm/swarm_pictures.h"

#include <stdbool.h>
#include <stdlib.h>

#include "swarm/swarm_profiles.h"

/* The first client's start: time 0 of both pictures. */
static mono_t first_start(const struct swarm_client *const *c, unsigned n)
{
	mono_t t0 = MONO_NEVER;

	for (unsigned i = 0; i < n; i++)
		if (c[i]->t_start != 0 && c[i]->t_start < t0)
			t0 = c[i]->t_start;
	return t0 == MONO_NEVER ? 0 : t0;
}

static double since(mono_t t, mono_t t0)
{
	return t > t0 ? (double)(t - t0) / 1e6 : 0;
}

static void timeline_client(FILE *out, const struct swarm_client *c,
			    const struct swarm_marks *marks, mono_t t0, uint32_t mac)
{
	double start = since(c->t_start, t0);

	fprintf(out, "{\"client\":%u,\"mac\":\"02:48:%02x:%02x:%02x:%02x\",\"firmware\":\"%s\",",
		c->index, mac >> 24, (mac >> 16) & 0xff, (mac >> 8) & 0xff, mac & 0xff,
		c->fw ? c->fw->name : "");
	if (c->stage == SWARM_DONE)
		fprintf(out, "\"outcome\":\"ok\",\"why\":null,\"done_s\":%.6f,",
			since(c->t_done, t0));
	else if (c->stage == SWARM_FAILED)
		fprintf(out, "\"outcome\":\"failed\",\"why\":\"%s\",\"done_s\":%.6f,",
			swarm_fail_name(c->fail), since(c->t_done, t0));
	else
		fprintf(out, "\"outcome\":\"unfinished\",\"why\":null,\"done_s\":null,");
	fprintf(out, "\"bytes\":%llu,\"retries\":%u,\"boot_retries\":%u,\"stages\":[",
		(unsigned long long)(c->tftp_bytes + c->http_bytes), c->retries, c->reboots);
	for (unsigned k = 0; marks && k < marks->n; k++) {
		const struct swarm_mark *m = &marks->m[k];
		char ip[IPADDR_STRLEN], sid[IPADDR_STRLEN];
		fprintf(out, "%s{\"t\":%.3f,\"stage\":\"%s\",\"event\":\"%s\"", k ? "," : "",
			start + m->ms / 1e3, swarm_boot_stage_name(m->boot_stage),
			swarm_mark_name(m->kind));
		if (m->kind == SWARM_MARK_ACKED)
			fprintf(out, ",\"ip\":\"%s\",\"server\":\"%s\"", ip4_str(m->ip, ip),
				ip4_str(m->server, sid));
		else if (m->kind == SWARM_MARK_REBOOT)
			fprintf(out, ",\"why\":\"%s\"", swarm_fail_name(m->why));
		fputc('}', out);
	}
	fputs("]}", out);
}

void swarm_timeline_write(FILE *out, const struct swarm_client *const *c,
			  const struct swarm_marks *marks, unsigned n, uint32_t mac_base)
{
	mono_t t0 = first_start(c, n);
	unsigned ok = 0, failed = 0;

	for (unsigned i = 0; i < n; i++) {
		ok += c[i]->stage == SWARM_DONE;
		failed += c[i]->stage != SWARM_DONE;
	}
	fprintf(out, "{\"clients\":%u,\"ok\":%u,\"failed\":%u,\"timeline\":[\n", n, ok, failed);
	for (unsigned i = 0; i < n; i++) {
		timeline_client(out, c[i], marks ? &marks[c[i]->index] : NULL, t0,
				mac_base + c[i]->index);
		fputs(i + 1 < n ? ",\n" : "\n", out);
	}
	fputs("]}\n", out);
}

/* --- the chart ------------------------------------------------------------ */

#define SVG_W 800
#define SVG_H 480
#define PLOT_X 70 /* left margin */
#define PLOT_Y 50 /* top margin */
#define PLOT_W 690
#define PLOT_H 360

struct axes {
	double tmax;   /* seconds at the right edge */
	unsigned ymax; /* clients at the top */
};

static double px(const struct axes *a, double t)
{
	return PLOT_X + PLOT_W * (t / a->tmax);
}

static double py(const struct axes *a, double clients)
{
	return PLOT_Y + PLOT_H * (1 - clients / a->ymax);
}

/* A round step (1, 2 or 5 times a power of ten) giving 4 to 10 ticks. */
static double tick_step(double max)
{
	double p = 1;

	while (p * 10 <= max)
		p *= 10;
	while (p > max)
		p /= 10;

	return max / p > 5 ? 2 * p : max / p > 2 ? p : max / p > 1 ? p / 2 : p / 5;
}

static void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			if ((unsigned char)*s >= 0x20)
				fputc(*s, out);
		}
	}
}

static void draw_axes(FILE *out, const struct axes *a)
{
	double xs = tick_step(a->tmax), ys = tick_step(a->ymax);

	fprintf(out, "<g stroke=\"#ccc\" stroke-width=\"1\">\n");
	for (double t = 0; t <= a->tmax + 1e-9; t += xs)
		fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", px(a, t),
			PLOT_Y, px(a, t), PLOT_Y + PLOT_H);
	for (double y = 0; y <= a->ymax + 1e-9; y += ys < 1 ? 1 : ys)
		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", PLOT_X,
			py(a, y), PLOT_X + PLOT_W, py(a, y));
	fprintf(out, "</g>\n<g font-size=\"12\" fill=\"#333\">\n");
	for (double t = 0; t <= a->tmax + 1e-9; t += xs)
		fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
			px(a, t), PLOT_Y + PLOT_H + 18, t);
	for (double y = 0; y <= a->ymax + 1e-9; y += ys < 1 ? 1 : ys)
		fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
			PLOT_X - 6, py(a, y) + 4, y);
	fprintf(out,
		"<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">seconds after the first client "
		"started</text>\n<text transform=\"translate(18 %d) rotate(-90)\" "
		"text-anchor=\"middle\">clients done</text>\n</g>\n",
		PLOT_X + PLOT_W / 2, SVG_H - 20, PLOT_Y + PLOT_H / 2);
	fprintf(out,
		"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
		"stroke=\"#333\"/>\n",
		PLOT_X, PLOT_Y, PLOT_W, PLOT_H);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The step curve: up by one at each client's end. */
static void draw_curve(FILE *out, const struct axes *a, const double *done, unsigned ndone)
{
	fprintf(out, "<path fill=\"none\" stroke=\"#1f6fb4\" stroke-width=\"2\" d=\"M%.1f %.1f",
		px(a, 0), py(a, 0));
	for (unsigned k = 0; k < ndone; k++)
		fprintf(out, " H%.1f V%.1f", px(a, done[k]), py(a, k + 1));
	fprintf(out, " H%.1f\"/>\n", px(a, a->tmax));
}

static void draw_legend(FILE *out, bool wire, double wire_s)
{
	int y = PLOT_Y + 16;

	fprintf(
	    out,
	    "<g font-size=\"12\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
	    "stroke=\"#1f6fb4\" stroke-width=\"2\"/><text x=\"%d\" y=\"%d\">clients done</text>\n",
	    PLOT_X + 12, y, PLOT_X + 36, y, PLOT_X + 42, y + 4);
	if (wire)
		fprintf(
		    out,
		    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#c0392b\" "
		    "stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/><text x=\"%d\" y=\"%d\">wire "
		    "limit: every byte at the link rate (%.2f s)</text>\n",
		    PLOT_X + 12, y + 18, PLOT_X + 36, y + 18, PLOT_X + 42, y + 22, wire_s);
	fputs("</g>\n", out);
}

void swarm_chart_write(FILE *out, const struct swarm_client *const *c, unsigned n, double link_bps,
		       const char *title)
{
	mono_t t0 = first_start(c, n);
	double *done = calloc(n ? n : 1, sizeof(*done));
	unsigned ndone = 0;
	double bytes = 0, wire_s = 0;
	struct axes a = {.tmax = 0.001, .ymax = n ? n : 1};

	for (unsigned i = 0; i < n; i++) {
		bytes += (double)(c[i]->tftp_bytes + c[i]->http_bytes);
		if (c[i]->stage == SWARM_DONE && done)
			done[ndone++] = since(c[i]->t_done, t0);
	}
	qsort(done, ndone, sizeof(*done), cmp_double);
	if (ndone && done[ndone - 1] > a.tmax)
		a.tmax = done[ndone - 1];
	if (link_bps > 0 && bytes > 0) {
		wire_s = bytes * 8 / link_bps;
		if (wire_s > a.tmax)
			a.tmax = wire_s;
	}
	a.tmax *= 1.05;
	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "
		"xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d "
		"%d\" font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" "
		"fill=\"white\"/>\n<text x=\"%d\" y=\"28\" font-size=\"16\">",
		SVG_W, SVG_H, SVG_W, SVG_H, PLOT_X);
	xml_text(out, title);
	fprintf(out, " (%u of %u done)</text>\n", ndone, n);
	draw_axes(out, &a);
	if (wire_s > 0)
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c0392b\" "
			"stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n",
			px(&a, 0), py(&a, 0), px(&a, wire_s), py(&a, n));
	draw_curve(out, &a, done, ndone);
	draw_legend(out, wire_s > 0, wire_s);
	fputs("</svg>\n", out);
	free(done);
}
