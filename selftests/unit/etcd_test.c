// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the etcd client (tools/lib/emp_etcd.c): the strict JSON
 * reader, the parsers of etcd's v3 gateway answers fed real answers (as
 * etcd 3.4 gives them) and hostile ones, and the key, value and request
 * bodies. Built with ASan and UBSan; every input is copied to a buffer of
 * exactly its length, so a read past the end is caught.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "emp_etcd.h"

/* @s as a buffer of exactly @len bytes, no terminator after it. */
static char *exact(const char *s, size_t len)
{
	char *b = malloc(len ? len : 1);

	memcpy(b, s, len);
	return b;
}

static int grant(const char *s, long http, int64_t *id, int64_t *ttl, char *msg)
{
	char *b = exact(s, strlen(s));
	int r = etcd_parse_grant(b, strlen(s), http, id, ttl, msg, 256);

	free(b);
	return r;
}

static int keepalive(const char *s, long http, int64_t id, char *msg)
{
	char *b = exact(s, strlen(s));
	int64_t ttl = -7;
	int r = etcd_parse_keepalive(b, strlen(s), http, id, &ttl, msg, 256);

	free(b);
	return r;
}

static int ack(const char *s, long http, char *msg)
{
	char *b = exact(s, strlen(s));
	int r = etcd_parse_ack(b, strlen(s), http, msg, 256);

	free(b);
	return r;
}

#define HDR "\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":\"13668033151171901709\"," \
	    "\"revision\":\"2\",\"raft_term\":\"2\"}"

TEST(real_answers)
{
	char msg[256];
	int64_t id = 0, ttl = 0;

	ASSERT_EQ(ETCD_OK, grant("{" HDR ",\"ID\":\"4111120506289037061\",\"TTL\":\"5\"}", 200,
				 &id, &ttl, msg)) TH_LOG("%s", msg);
	EXPECT_EQ(4111120506289037061LL, id);
	EXPECT_EQ(5, ttl);
	EXPECT_EQ(ETCD_OK, keepalive("{\"result\":{" HDR ",\"ID\":\"4111120506289037063\",\"TTL\":\"5\"}}\n",
				     200, 4111120506289037063LL, msg)) TH_LOG("%s", msg);
	/* An expired lease: the gateway leaves the zero TTL out. */
	EXPECT_EQ(ETCD_GONE, keepalive("{\"result\":{" HDR ",\"ID\":\"123\"}}", 200, 123, msg));
	EXPECT_NE(NULL, strstr(msg, "expired"));
	EXPECT_EQ(ETCD_OK, ack("{" HDR "}", 200, msg)) TH_LOG("%s", msg);
	EXPECT_EQ(ETCD_GONE, ack("{\"error\":\"etcdserver: requested lease not found\","
				 "\"message\":\"etcdserver: requested lease not found\",\"code\":5}",
				 404, msg));
	EXPECT_NE(NULL, strstr(msg, "requested lease not found"));
	EXPECT_EQ(ETCD_BAD, ack("{\"error\":\"invalid character 'g' looking for beginning of value\","
				"\"message\":\"invalid character 'g' looking for beginning of value\","
				"\"code\":3}", 400, msg));
	EXPECT_NE(NULL, strstr(msg, "code 3"));
	/* The stream form of an error. */
	EXPECT_EQ(ETCD_GONE, keepalive("{\"error\":{\"grpc_code\":5,\"http_code\":404,"
				       "\"message\":\"lease not found\",\"http_status\":\"Not Found\"}}",
				       200, 1, msg));
	/* Numbers as numbers are accepted too. */
	EXPECT_EQ(ETCD_OK, grant("{\"ID\":7,\"TTL\":10}", 200, &id, &ttl, msg));
	EXPECT_EQ(7, id);
	/* An empty "error" string is no error. */
	EXPECT_EQ(ETCD_OK, grant("{\"ID\":7,\"TTL\":10,\"error\":\"\"}", 200, &id, &ttl, msg));
}

struct bad_case {
	const char *what, *body;
	long http;
	const char *in_msg;	/* part of the message, or NULL */
};

static const struct bad_case bad_grants[] = {
	{ "empty", "", 200, "empty" },
	{ "whitespace", " \n\t", 200, "not JSON" },
	{ "null", "null", 200, "not a JSON object" },
	{ "array", "[]", 200, "not a JSON object" },
	{ "a string", "\"ID\"", 200, "not a JSON object" },
	{ "empty object", "{}", 200, "no \"ID\"" },
	{ "no TTL", "{\"ID\":\"1\"}", 200, "no \"TTL\"" },
	{ "ID as object", "{\"ID\":{},\"TTL\":\"5\"}", 200, "not an integer" },
	{ "ID as array", "{\"ID\":[1],\"TTL\":\"5\"}", 200, "not an integer" },
	{ "ID as bool", "{\"ID\":true,\"TTL\":\"5\"}", 200, "not an integer" },
	{ "ID null", "{\"ID\":null,\"TTL\":\"5\"}", 200, "not an integer" },
	{ "ID fraction", "{\"ID\":1.5,\"TTL\":\"5\"}", 200, "not an integer" },
	{ "ID exponent", "{\"ID\":1e3,\"TTL\":\"5\"}", 200, "not an integer" },
	{ "ID letters", "{\"ID\":\"12ab\",\"TTL\":\"5\"}", 200, "not an integer" },
	{ "ID empty string", "{\"ID\":\"\",\"TTL\":\"5\"}", 200, "not an integer" },
	{ "ID plus", "{\"ID\":\"+5\",\"TTL\":\"5\"}", 200, "not an integer" },
	{ "ID leading zero", "{\"ID\":\"05\",\"TTL\":\"5\"}", 200, "not an integer" },
	{ "ID overflow", "{\"ID\":\"9223372036854775808\",\"TTL\":\"5\"}", 200, "not an integer" },
	{ "ID huge", "{\"ID\":99999999999999999999999999,\"TTL\":\"5\"}", 200, "not an integer" },
	{ "ID zero", "{\"ID\":\"0\",\"TTL\":\"5\"}", 200, "absurd" },
	{ "ID negative", "{\"ID\":\"-4\",\"TTL\":\"5\"}", 200, "absurd" },
	{ "ID most negative", "{\"ID\":\"-9223372036854775808\",\"TTL\":\"5\"}", 200, "absurd" },
	{ "TTL zero", "{\"ID\":\"1\",\"TTL\":\"0\"}", 200, "absurd" },
	{ "TTL negative", "{\"ID\":\"1\",\"TTL\":-1}", 200, "absurd" },
	{ "TTL absurd", "{\"ID\":\"1\",\"TTL\":\"86401\"}", 200, "absurd" },
	{ "ID twice", "{\"ID\":\"1\",\"ID\":\"2\",\"TTL\":\"5\"}", 200, "twice" },
	{ "error twice", "{\"error\":\"a\",\"error\":\"b\"}", 500, "twice" },
	{ "HTTP 500 with good body", "{\"ID\":\"1\",\"TTL\":\"5\"}", 500, "HTTP 500" },
	{ "HTTP 503 html", "<html>Service Unavailable</html>", 503, "not JSON" },
	{ "error string", "{\"error\":\"etcdserver: too many requests\",\"code\":8}", 200, "too many" },
	{ "error with bad code", "{\"error\":\"x\",\"code\":\"five\"}", 200, "code -1" },
	{ "HTTP 500, no message", "{\"ID\":{}}", 500, "HTTP 500 with no error message: '{\"ID\":{}}'" },
	{ "unterminated object", "{\"ID\":\"1\",\"TTL\":\"5\"", 200, "unexpected end" },
	{ "unterminated string", "{\"ID\":\"1", 200, "unterminated" },
	{ "bad escape", "{\"ID\":\"\\q\",\"TTL\":\"5\"}", 200, "escape" },
	{ "short \\u", "{\"ID\":\"\\u12\"}", 200, "\\u" },
	{ "control character", "{\"ID\":\"1\n\",\"TTL\":\"5\"}", 200, "control" },
	{ "trailing garbage", "{\"ID\":\"1\",\"TTL\":\"5\"} x", 200, "after the value" },
	{ "two documents", "{\"ID\":\"1\",\"TTL\":\"5\"}{}", 200, "after the value" },
	{ "missing colon", "{\"ID\" \"1\"}", 200, "':'" },
	{ "missing comma", "{\"ID\":\"1\" \"TTL\":\"5\"}", 200, "','" },
	{ "trailing comma", "{\"ID\":\"1\",}", 200, "member name" },
	{ "name not a string", "{ID:1}", 200, "member name" },
	{ "bare minus", "{\"ID\":-,\"TTL\":5}", 200, "bad number" },
	{ "dot no digits", "{\"ID\":1.,\"TTL\":5}", 200, "bad number" },
	{ "exponent no digits", "{\"ID\":1e+,\"TTL\":5}", 200, "bad number" },
	{ "tru", "{\"ID\":tru", 200, "unexpected character" },
	{ "binary", "\x01\x02\xff\xfe", 200, "not JSON" },
	{ "deep arrays", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	  200, "too deep" },
};

TEST(hostile_grants)
{
	char msg[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad_grants); i++) {
		const struct bad_case *c = &bad_grants[i];
		int64_t id = 0, ttl = 0;

		msg[0] = 0;
		EXPECT_EQ(ETCD_BAD, grant(c->body, c->http, &id, &ttl, msg)) TH_LOG("%s", c->what);
		EXPECT_NE(0, msg[0]) TH_LOG("%s: no message", c->what);
		if (c->in_msg)
			EXPECT_NE(NULL, strstr(msg, c->in_msg)) TH_LOG("%s: message '%s'", c->what, msg);
		/* Quoted answer text is printable. */
		for (size_t k = 0; msg[k]; k++) {
			int ch = msg[k];

			EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) TH_LOG("%s: byte %d", c->what, ch);
		}
	}
}

TEST(hostile_keepalives_and_acks)
{
	char msg[256];

	EXPECT_EQ(ETCD_BAD, keepalive("{}", 200, 1, msg));
	EXPECT_EQ(ETCD_BAD, keepalive("{\"result\":[]}", 200, 1, msg));
	EXPECT_EQ(ETCD_BAD, keepalive("{\"result\":{\"ID\":\"2\",\"TTL\":\"5\"}}", 200, 1, msg));
	EXPECT_NE(NULL, strstr(msg, "not 1"));
	EXPECT_EQ(ETCD_BAD, keepalive("{\"result\":{\"TTL\":\"5\"}}", 200, 1, msg));
	EXPECT_EQ(ETCD_BAD, keepalive("{\"result\":{\"ID\":\"1\",\"TTL\":\"9999999\"}}", 200, 1, msg));
	EXPECT_EQ(ETCD_BAD, keepalive("{\"result\":{\"ID\":\"1\",\"TTL\":\"x\"}}", 200, 1, msg));
	EXPECT_EQ(ETCD_GONE, keepalive("{\"result\":{\"ID\":\"1\",\"TTL\":\"-1\"}}", 200, 1, msg));
	EXPECT_EQ(ETCD_BAD, keepalive("{\"result\":{},\"result\":{}}", 200, 1, msg));
	EXPECT_EQ(ETCD_BAD, keepalive("{\"result\":{\"ID\":\"1\",\"TTL\":\"5\"}}\n{\"result\":{}}",
				      200, 1, msg));
	EXPECT_EQ(ETCD_BAD, ack("{}", 200, msg));
	EXPECT_EQ(ETCD_BAD, ack("{\"header\":1}", 200, msg));
	EXPECT_EQ(ETCD_BAD, ack("{\"header\":{},\"header\":{}}", 200, msg));
	EXPECT_EQ(ETCD_BAD, ack("{\"header\":{}}", 502, msg));
	EXPECT_EQ(ETCD_BAD, ack("{\"error\":{\"message\":7}}", 200, msg));
	EXPECT_NE(NULL, strstr(msg, "no error message"));
}

TEST(limits)
{
	size_t n = 200000, i;
	char *b = malloc(n), msg[256];
	int64_t id, ttl;

	/* Nesting far beyond the limit: refused without deep recursion. */
	memset(b, '[', n);
	EXPECT_EQ(ETCD_BAD, etcd_parse_grant(b, 4000, 200, &id, &ttl, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "too deep"));
	/* Longer than ETCD_BODY_MAX. */
	EXPECT_EQ(ETCD_BAD, etcd_parse_grant(b, n, 200, &id, &ttl, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "longer than"));
	/* More values than EJ_MAX_TOKENS. */
	b[0] = '[';
	for (i = 1; i < 2 * EJ_MAX_TOKENS + 100; i += 2) {
		b[i] = '1';
		b[i + 1] = ',';
	}
	b[i] = '1';
	b[i + 1] = ']';
	EXPECT_EQ(ETCD_BAD, etcd_parse_grant(b, i + 2, 200, &id, &ttl, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "too many values"));
	/* A long message is cut, printable, and fits @msg. */
	memcpy(b, "{\"error\":\"", 10);
	memset(b + 10, 'x', 10000);
	b[10 + 10000] = '\x07';
	memcpy(b + 10 + 10001, "\"}", 2);
	EXPECT_EQ(ETCD_BAD, etcd_parse_ack(b, 10 + 10001 + 2, 500, msg, 40));
	EXPECT_LT(strlen(msg), 40);
	free(b);
}

/* Random bytes and random damage to real answers: no crash, sane results. */
TEST(fuzz)
{
	static const char *const seeds[] = {
		"{" HDR ",\"ID\":\"4111120506289037061\",\"TTL\":\"5\"}",
		"{\"result\":{" HDR ",\"ID\":\"1\",\"TTL\":\"5\"}}",
		"{\"error\":{\"grpc_code\":5,\"http_code\":404,\"message\":\"x\\u00e9\"}}",
		"[1,-2.5e+3,true,false,null,\"a\\\"b\",{\"k\":[{}]}]",
	};
	static const char alphabet[] = "{}[]\":,\\-+.0123456789eEtrufalsn \n\x01\xff";
	char buf[512], msg[256];
	unsigned int seed = 12345;
	int64_t id, ttl;

	for (int iter = 0; iter < 100000; iter++) {
		const char *s = seeds[iter % ARRAY_SIZE(seeds)];
		size_t len = strlen(s), i, k;
		char *b;

		memcpy(buf, s, len);
		k = (size_t)(rand_r(&seed) % 6) + 1;
		for (i = 0; i < k; i++) {
			size_t at = (size_t)rand_r(&seed) % len;

			switch (rand_r(&seed) % 4) {
			case 0:
				buf[at] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
				break;
			case 1:
				len = at + 1;	/* cut */
				break;
			case 2:
				buf[at] = (char)rand_r(&seed);
				break;
			case 3:
				if (len < sizeof(buf) - 1) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
					len++;
				}
				break;
			}
		}
		if (iter % 7 == 0)
			for (i = 0; i < len; i++)
				buf[i] = (char)rand_r(&seed);
		b = exact(buf, len);
		if (etcd_parse_grant(b, len, 200, &id, &ttl, msg, sizeof(msg)) == ETCD_OK)
			ASSERT_TRUE(id > 0 && ttl >= 1 && ttl <= ETCD_TTL_MAX);
		etcd_parse_keepalive(b, len, 200, 1, &ttl, msg, sizeof(msg));
		etcd_parse_ack(b, len, 404, msg, sizeof(msg));
		free(b);
	}
}

TEST(key_value_and_bodies)
{
	struct etcd_donor d = { .domain = "rack1", .addr = "10.0.0.5", .port = 19675,
				.rdma = true, .tcp = true, .capacity = 1ULL << 34,
				.free = 1ULL << 33, .pid = 42 };
	char buf[1024], b64[64];
	struct ej_doc doc;
	int64_t v;

	ASSERT_LT(0, etcd_donor_key(&d, buf, sizeof(buf)));
	EXPECT_STREQ("/emp/v1/donors/rack1/10.0.0.5:19675", buf);
	ASSERT_LT(0, etcd_donor_value(&d, buf, sizeof(buf)));
	EXPECT_STREQ("{\"version\":1,\"addr\":\"10.0.0.5\",\"port\":19675,"
		     "\"transports\":[\"rdma\",\"tcp\"],\"capacity\":17179869184,"
		     "\"free\":8589934592,\"domain\":\"rack1\",\"pid\":42}", buf);
	/* The value is JSON our own reader takes. */
	ASSERT_EQ(0, ej_parse(&doc, buf, strlen(buf), b64, sizeof(b64)));
	ASSERT_EQ(0, ej_int64(&doc, ej_member(&doc, 0, "free"), &v));
	EXPECT_EQ(8589934592LL, v);
	d.rdma = false;
	ASSERT_LT(0, etcd_donor_value(&d, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "\"transports\":[\"tcp\"]"));
	d.addr = "fe80::1";
	ASSERT_LT(0, etcd_donor_key(&d, buf, sizeof(buf)));
	EXPECT_STREQ("/emp/v1/donors/rack1/[fe80::1]:19675", buf);
	EXPECT_EQ(-1, etcd_donor_key(&d, buf, 20));
	d.domain = "a/b";
	EXPECT_EQ(-1, etcd_donor_key(&d, buf, sizeof(buf)));
	d.domain = "rack1";
	d.addr = "x\"y";
	EXPECT_EQ(-1, etcd_donor_value(&d, buf, sizeof(buf)));

	EXPECT_EQ(0, etcd_base64("", 0, b64, sizeof(b64)));
	etcd_base64("f", 1, b64, sizeof(b64));
	EXPECT_STREQ("Zg==", b64);
	etcd_base64("fo", 2, b64, sizeof(b64));
	EXPECT_STREQ("Zm8=", b64);
	etcd_base64("foobar", 6, b64, sizeof(b64));
	EXPECT_STREQ("Zm9vYmFy", b64);
	EXPECT_EQ(-1, etcd_base64("foobar", 6, b64, 8));

	ASSERT_LT(0, etcd_put_body("/k", "v", 77, buf, sizeof(buf)));
	EXPECT_STREQ("{\"key\":\"L2s=\",\"value\":\"dg==\",\"lease\":\"77\"}", buf);
	ASSERT_LT(0, etcd_lease_body(4111120506289037061LL, buf, sizeof(buf)));
	EXPECT_STREQ("{\"ID\":\"4111120506289037061\"}", buf);
	ASSERT_LT(0, etcd_grant_body(10, buf, sizeof(buf)));
	EXPECT_STREQ("{\"TTL\":10}", buf);
}

TEST(names_and_urls)
{
	char msg[128];

	EXPECT_TRUE(etcd_label_ok("rack-1.row_2"));
	EXPECT_FALSE(etcd_label_ok(""));
	EXPECT_FALSE(etcd_label_ok(".."));
	EXPECT_FALSE(etcd_label_ok("a/b"));
	EXPECT_FALSE(etcd_label_ok("a b"));
	EXPECT_FALSE(etcd_label_ok("0123456789012345678901234567890123456789012345678901234567890123"));
	EXPECT_TRUE(etcd_host_ok("10.1.2.3"));
	EXPECT_TRUE(etcd_host_ok("fe80::1"));
	EXPECT_TRUE(etcd_host_ok("donor-1.example"));
	EXPECT_FALSE(etcd_host_ok("-x"));
	EXPECT_FALSE(etcd_host_ok("a:b:"));
	EXPECT_FALSE(etcd_host_ok("x\"y"));
	EXPECT_EQ(0, etcd_url_check("http://127.0.0.1:2379", msg, sizeof(msg)));
	EXPECT_EQ(0, etcd_url_check("http://etcd.example:2379/", msg, sizeof(msg)));
	EXPECT_EQ(0, etcd_url_check("http://[::1]:2379", msg, sizeof(msg)));
	EXPECT_EQ(-1, etcd_url_check("https://127.0.0.1:2379", msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "https is not supported"));
	EXPECT_EQ(-1, etcd_url_check("127.0.0.1:2379", msg, sizeof(msg)));
	EXPECT_EQ(-1, etcd_url_check("http://", msg, sizeof(msg)));
	EXPECT_EQ(-1, etcd_url_check("http://u:p@h:2379", msg, sizeof(msg)));
	EXPECT_EQ(-1, etcd_url_check("http://h:2379/v3", msg, sizeof(msg)));
	EXPECT_EQ(-1, etcd_url_check("http://h:2379?x", msg, sizeof(msg)));
}

TEST_HARNESS_MAIN
