/* Fuzzes the TFTP codec and the server's protocol logic. The input is the
 * codec's datagram, and also a script of records [len][kind][bytes...]:
 * kind%3 == 0 a request to port 69, 1 a datagram to a transfer port,
 * 2 advance the clock by len*10 ms and run the timers. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "tftp/tftp_server.h"
#include "tftp/tftp_wire.h"

/* "Sent to": unknown (the server answers from the kernel's choice). */
static const struct ipaddr unknown_ip;

static struct herd_config cfg;
static struct files *files;

static void sink(void *ctx, unsigned sock, const struct netaddr *peer, struct ipaddr local_ip,
		 const uint8_t *hdr, size_t hdr_len, const uint8_t *payload, size_t payload_len)
{
	volatile uint8_t x = 0;

	(void)ctx, (void)sock, (void)peer, (void)local_ip;
	for (size_t i = 0; i < hdr_len; i++)
		x ^= hdr[i];
	if (payload_len)
		x ^= payload[0] ^ payload[payload_len - 1];
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char root[] = "/tmp/herd-fuzz-tftp-XXXXXX";
	char path[128];

	(void)argc, (void)argv;
	if (mkdtemp(root) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/a", root);
	FILE *f = fopen(path, "w");
	for (int i = 0; i < 3000; i++)
		fputc(i % 3 ? 'x' : '\n', f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/d", root);
	mkdir(path, 0755);
	conf_defaults(&cfg);
	cfg.tftp.max_transfers = 8;
	cfg.tftp.retries = 2;
	files = files_new(open(root, O_PATH | O_DIRECTORY), 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tftp_tx tx = {NULL, sink};
	struct tftp_pkt pkt;
	struct tftp_server *srv;
	mono_t now = MONO_SEC(1000);
	size_t pos = 0;

	tftp_parse(data, size, &pkt);
	srv = tftp_server_new(&cfg.tftp, files, &tx);
	while (pos + 2 <= size) {
		size_t len = data[pos];
		uint8_t kind = data[pos + 1];
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		struct netaddr peer = {IPADDR_V4_INIT(10, 0, 0, 1), (uint16_t)(1000 + kind / 3 % 4)};
		switch (kind % 3) {
		case 0:
			tftp_server_request(srv, &peer, unknown_ip, data + pos, len, now);
			break;
		case 1:
			tftp_server_input(srv, kind / 12 % cfg.tftp.transfer_sockets, &peer, unknown_ip,
					  data + pos, len, now, now);
			break;
		default:
			now += MONO_MS(10) * (mono_t)(len + 1);
			tftp_server_tick(srv, now);
			continue;
		}
		pos += len;
	}
	tftp_server_free(srv, now);
	files_expire(files, now + MONO_SEC(1));
	return 0;
}
