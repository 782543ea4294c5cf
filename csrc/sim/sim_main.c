/* zoomlive-sim: command line, process lifecycle and signals. */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

sim_config sim_cfg, sim_boot;
pthread_mutex_t sim_mutex = PTHREAD_MUTEX_INITIALIZER;
atomic_int sim_stopping;

void sim_lock(void) { pthread_mutex_lock(&sim_mutex); }
void sim_unlock(void) { pthread_mutex_unlock(&sim_mutex); }

void sim_vlog(const char *fmt, ...) {
  if (!sim_boot.verbose) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("zoomlive-sim: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static const char usage[] =
  "usage: zoomlive-sim [options]\n"
  "Simulates Zoom's live-stream REST API (/v2) and S2S OAuth (/oauth/token).\n"
  "Prints the listening port alone on the first line of stdout.\n"
  "\n"
  "Server:\n"
  "  --port N                 port to listen on (default 0: the OS chooses)\n"
  "  --bind ADDR              address to bind (default 127.0.0.1; IPv4 or IPv6)\n"
  "  --tls-cert FILE          serve HTTPS with this PEM certificate ...\n"
  "  --tls-key FILE           ... and this PEM private key\n"
  "  --verbose                log requests to stderr\n"
  "  --max-connections N      connections served at once (default 1024; lowered to fit\n"
  "                           the open-file limit, RLIMIT_NOFILE minus 32); more are refused\n"
  "  --connection-timeout S   close a connection idle for S seconds (default 60)\n"
  "State:\n"
  "  --fixtures FILE          JSON fixtures (meetings, webinars, generated ranges)\n"
  "  --any-meeting            every well-formed meeting id exists (configured, started)\n"
  "Auth:\n"
  "  --token T                accept bearer token T (repeatable; default: sim-token)\n"
  "  --client-id ID           OAuth client id (default sim-client-id)\n"
  "  --client-secret S        OAuth client secret (default sim-client-secret)\n"
  "  --account-id ID          OAuth account id (default sim-account)\n"
  "  --token-ttl SECONDS      lifetime of issued tokens (default 3599)\n"
  "  --invalidate-old-tokens  issuing a token invalidates all older issued tokens\n"
  "  --api-url URL            api_url returned by /oauth/token (default http://BIND:PORT)\n"
  "Rate limits:\n"
  "  --qps N                  Light-label requests per second, token bucket (default 30; 0 off)\n"
  "  --daily N                requests per UTC day (default 6000; 0 off)\n"
  "  --start-cooldown SECONDS minimum gap between starts of one stream (default 30; 0 off)\n"
  "  --no-ratelimit-headers   429s carry no Retry-After / X-RateLimit-* headers\n"
  "Bodies:\n"
  "  --json-only              /v2 writes whose body is not a JSON object get 400, code 300\n"
  "Webhooks (signed live-stream events, as Zoom sends them):\n"
  "  --webhook-url URL        POST meeting/webinar.live_streaming_started/stopped events to URL\n"
  "  --webhook-secret S       the app's secret token that signs them (x-zm-signature)\n"
  "  --webhook-delay SECONDS  sim-clock seconds from a start/stop to its event (default 0)\n"
  "  --webhook-retries N      POST a failed delivery again up to N times (default 0)\n"
  "  --webhook-retry-delay S  sim-clock seconds before each retry (default 300)\n"
  "Faults (the flags below form one fault; --fault adds more):\n"
  "  --latency-ms N           delay each matching response by N ms\n"
  "  --fail-status CODE       answer CODE (e.g. 500, 502, 503, 504) with a Zoom-like body\n"
  "  --reset before|after     abort the connection with a TCP RST before/after the body\n"
  "  --hang                   never answer (until the client leaves or the sim stops)\n"
  "  --truncate               declare a longer Content-Length than sent, then close\n"
  "  --malformed-json         answer a cut-off JSON body (status --fail-status or 400)\n"
  "  --huge-body N            answer an N-byte JSON-ish body (status --fail-status or 500)\n"
  "  --fail-count N           the fault applies to the next N matching requests only\n"
  "  --fail-rate P            the fault applies with probability P (0..1)\n"
  "  --fail-path PREFIX       the fault applies to paths starting with PREFIX only\n"
  "  --fault JSON             add a fault object as POST /_sim/faults takes it (repeatable)\n"
  "  --seed N                 seed the random numbers (fault rates, tokens)\n"
  "Other:\n"
  "  --help                   this text\n"
  "  --version                print the version\n";

static void die_usage(const char *fmt, ...) SIM_PRINTF(1, 2);
static void die_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("zoomlive-sim: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\ntry zoomlive-sim --help\n", stderr);
  exit(2);
}

static double num_arg(const char *opt, const char *v, double lo, double hi) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (errno || end == v || *end || d < lo || d > hi) {
    fprintf(stderr, "zoomlive-sim: %s: bad value '%s' (expected %g..%g)\n", opt, v, lo, hi);
    fputs("try zoomlive-sim --help\n", stderr);
    exit(2);
  }
  return d;
}

enum {
  O_PORT = 256,
  O_BIND,
  O_TLS_CERT,
  O_TLS_KEY,
  O_VERBOSE,
  O_FIXTURES,
  O_ANY_MEETING,
  O_TOKEN,
  O_CLIENT_ID,
  O_CLIENT_SECRET,
  O_ACCOUNT_ID,
  O_TOKEN_TTL,
  O_INVALIDATE,
  O_API_URL,
  O_QPS,
  O_DAILY,
  O_COOLDOWN,
  O_NO_RL_HEADERS,
  O_LATENCY,
  O_FAIL_STATUS,
  O_RESET,
  O_HANG,
  O_TRUNCATE,
  O_MALFORMED,
  O_HUGE,
  O_FAIL_COUNT,
  O_FAIL_RATE,
  O_FAIL_PATH,
  O_FAULT,
  O_SEED,
  O_HELP,
  O_VERSION,
  O_MAX_CONN,
  O_CONN_TIMEOUT,
  O_JSON_ONLY,
  O_WEBHOOK_URL,
  O_WEBHOOK_SECRET,
  O_WEBHOOK_DELAY,
  O_WEBHOOK_RETRIES,
  O_WEBHOOK_RETRY_DELAY
};

static const struct option longopts[] = {
  {"port", required_argument, 0, O_PORT},
  {"bind", required_argument, 0, O_BIND},
  {"tls-cert", required_argument, 0, O_TLS_CERT},
  {"tls-key", required_argument, 0, O_TLS_KEY},
  {"verbose", no_argument, 0, O_VERBOSE},
  {"fixtures", required_argument, 0, O_FIXTURES},
  {"any-meeting", no_argument, 0, O_ANY_MEETING},
  {"token", required_argument, 0, O_TOKEN},
  {"client-id", required_argument, 0, O_CLIENT_ID},
  {"client-secret", required_argument, 0, O_CLIENT_SECRET},
  {"account-id", required_argument, 0, O_ACCOUNT_ID},
  {"token-ttl", required_argument, 0, O_TOKEN_TTL},
  {"invalidate-old-tokens", no_argument, 0, O_INVALIDATE},
  {"api-url", required_argument, 0, O_API_URL},
  {"qps", required_argument, 0, O_QPS},
  {"daily", required_argument, 0, O_DAILY},
  {"start-cooldown", required_argument, 0, O_COOLDOWN},
  {"no-ratelimit-headers", no_argument, 0, O_NO_RL_HEADERS},
  {"latency-ms", required_argument, 0, O_LATENCY},
  {"fail-status", required_argument, 0, O_FAIL_STATUS},
  {"reset", required_argument, 0, O_RESET},
  {"hang", no_argument, 0, O_HANG},
  {"truncate", no_argument, 0, O_TRUNCATE},
  {"malformed-json", no_argument, 0, O_MALFORMED},
  {"huge-body", required_argument, 0, O_HUGE},
  {"fail-count", required_argument, 0, O_FAIL_COUNT},
  {"fail-rate", required_argument, 0, O_FAIL_RATE},
  {"fail-path", required_argument, 0, O_FAIL_PATH},
  {"fault", required_argument, 0, O_FAULT},
  {"seed", required_argument, 0, O_SEED},
  {"max-connections", required_argument, 0, O_MAX_CONN},
  {"connection-timeout", required_argument, 0, O_CONN_TIMEOUT},
  {"json-only", no_argument, 0, O_JSON_ONLY},
  {"webhook-url", required_argument, 0, O_WEBHOOK_URL},
  {"webhook-secret", required_argument, 0, O_WEBHOOK_SECRET},
  {"webhook-delay", required_argument, 0, O_WEBHOOK_DELAY},
  {"webhook-retries", required_argument, 0, O_WEBHOOK_RETRIES},
  {"webhook-retry-delay", required_argument, 0, O_WEBHOOK_RETRY_DELAY},
  {"help", no_argument, 0, O_HELP},
  {"version", no_argument, 0, O_VERSION},
  {0, 0, 0, 0},
};

static const char **token_list;
static cJSON *boot_fault_list;

static void parse_args(int argc, char **argv, bool *seeded, uint64_t *seed) {
  sim_config *c = &sim_boot;
  snprintf(c->bind, sizeof c->bind, "127.0.0.1");
  c->port = 0;
  c->client_id = "sim-client-id";
  c->client_secret = "sim-client-secret";
  c->account_id = "sim-account";
  c->token_ttl = 3599;
  c->qps = 30;
  c->daily = 6000;
  c->start_cooldown = 30;
  c->webhook_retry_delay = 300;
  c->ratelimit_headers = true;
  c->max_connections = 1024;
  c->connection_timeout = 60;
  token_list = calloc((size_t)argc + 1, sizeof *token_list);
  boot_fault_list = cJSON_CreateArray();
  cJSON *cli_fault = cJSON_CreateObject();
  bool cli_effect = false, cli_scope = false;
  if (!token_list || !boot_fault_list || !cli_fault) exit(1);

  int opt;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (opt) {
      case O_PORT: c->port = (int)num_arg("--port", optarg, 0, 65535); break;
      case O_BIND:
        if (strlen(optarg) >= sizeof c->bind) die_usage("--bind %s: too long", optarg);
        snprintf(c->bind, sizeof c->bind, "%s", optarg);
        break;
      case O_TLS_CERT: c->tls_cert = optarg; break;
      case O_TLS_KEY: c->tls_key = optarg; break;
      case O_VERBOSE: c->verbose = true; break;
      case O_FIXTURES: c->fixtures = optarg; break;
      case O_ANY_MEETING: c->any_meeting = true; break;
      case O_TOKEN:
        if (!*optarg) die_usage("--token: empty token");
        token_list[c->ntokens++] = optarg;
        break;
      case O_CLIENT_ID: c->client_id = optarg; break;
      case O_CLIENT_SECRET: c->client_secret = optarg; break;
      case O_ACCOUNT_ID: c->account_id = optarg; break;
      case O_TOKEN_TTL: c->token_ttl = num_arg("--token-ttl", optarg, 0, 1e9); break;
      case O_INVALIDATE: c->invalidate_old_tokens = true; break;
      case O_API_URL:
        if (strlen(optarg) >= sizeof c->api_url) die_usage("--api-url %s: too long", optarg);
        snprintf(c->api_url, sizeof c->api_url, "%s", optarg);
        break;
      case O_QPS: c->qps = num_arg("--qps", optarg, 0, 1e9); break;
      case O_DAILY: c->daily = (long)num_arg("--daily", optarg, 0, 1e15); break;
      case O_COOLDOWN: c->start_cooldown = num_arg("--start-cooldown", optarg, 0, 1e9); break;
      case O_NO_RL_HEADERS: c->ratelimit_headers = false; break;
      case O_LATENCY:
        cJSON_AddNumberToObject(cli_fault, "latency_ms",
                                num_arg("--latency-ms", optarg, 0, 3600000));
        cli_effect = true;
        break;
      case O_FAIL_STATUS:
        cJSON_AddNumberToObject(cli_fault, "status", num_arg("--fail-status", optarg, 100, 599));
        cli_effect = true;
        break;
      case O_RESET:
        if (strcmp(optarg, "before") && strcmp(optarg, "after"))
          die_usage("--reset %s: expected before or after", optarg);
        cJSON_AddStringToObject(cli_fault, "reset", optarg);
        cli_effect = true;
        break;
      case O_HANG:
        cJSON_AddTrueToObject(cli_fault, "hang");
        cli_effect = true;
        break;
      case O_TRUNCATE:
        cJSON_AddTrueToObject(cli_fault, "truncate");
        cli_effect = true;
        break;
      case O_MALFORMED:
        cJSON_AddTrueToObject(cli_fault, "malformed_json");
        cli_effect = true;
        break;
      case O_HUGE:
        cJSON_AddNumberToObject(cli_fault, "huge_body",
                                num_arg("--huge-body", optarg, 1, 1073741824));
        cli_effect = true;
        break;
      case O_FAIL_COUNT:
        cJSON_AddNumberToObject(cli_fault, "count", num_arg("--fail-count", optarg, 1, 1e12));
        cli_scope = true;
        break;
      case O_FAIL_RATE:
        cJSON_AddNumberToObject(cli_fault, "rate", num_arg("--fail-rate", optarg, 0, 1));
        cli_scope = true;
        break;
      case O_FAIL_PATH:
        cJSON_AddStringToObject(cli_fault, "path", optarg);
        cli_scope = true;
        break;
      case O_FAULT: {
        cJSON *f = cJSON_Parse(optarg);
        if (!cJSON_IsObject(f)) die_usage("--fault %s: not a JSON object", optarg);
        cJSON_AddItemToArray(boot_fault_list, f);
        break;
      }
      case O_SEED:
        *seed = (uint64_t)num_arg("--seed", optarg, 0, 1.8e19);
        *seeded = true;
        break;
      case O_MAX_CONN:
        c->max_connections = (unsigned)num_arg("--max-connections", optarg, 1, 65536);
        break;
      case O_CONN_TIMEOUT:
        c->connection_timeout = (unsigned)num_arg("--connection-timeout", optarg, 1, 86400);
        break;
      case O_JSON_ONLY: c->json_only = true; break;
      case O_WEBHOOK_URL:
        if (strlen(optarg) >= sizeof c->webhook_url) die_usage("--webhook-url: too long");
        if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))
          die_usage("--webhook-url %s: expected an http:// or https:// URL", optarg);
        snprintf(c->webhook_url, sizeof c->webhook_url, "%s", optarg);
        break;
      case O_WEBHOOK_SECRET:
        if (!*optarg || strlen(optarg) >= sizeof c->webhook_secret)
          die_usage("--webhook-secret: expected 1 to %zu characters", sizeof c->webhook_secret - 1);
        snprintf(c->webhook_secret, sizeof c->webhook_secret, "%s", optarg);
        break;
      case O_WEBHOOK_DELAY: c->webhook_delay = num_arg("--webhook-delay", optarg, 0, 86400); break;
      case O_WEBHOOK_RETRIES:
        c->webhook_retries = (int)num_arg("--webhook-retries", optarg, 0, 10);
        break;
      case O_WEBHOOK_RETRY_DELAY:
        c->webhook_retry_delay = num_arg("--webhook-retry-delay", optarg, 0, 86400);
        break;
      case O_HELP: fputs(usage, stdout); exit(0);
      case O_VERSION: puts("zoomlive-sim " ZOOMLIVE_VERSION); exit(0);
      default:
        if (optopt) {
          char o[2] = {(char)optopt, 0};
          die_usage("option needs a value or is unknown: %s", o);
        }
        die_usage("unknown or incomplete option: %s", argv[optind - 1]);
    }
  }
  if (optind < argc) die_usage("unexpected argument: %s", argv[optind]);
  if (cli_scope && !cli_effect)
    die_usage(
      "--fail-count/--fail-rate/--fail-path need a fault flag "
      "(--latency-ms, --fail-status, --reset, --hang, --truncate, ...)");
  if (cli_effect)
    cJSON_InsertItemInArray(boot_fault_list, 0, cli_fault);
  else
    cJSON_Delete(cli_fault);
  if (c->webhook_url[0] && !c->webhook_secret[0])
    die_usage("--webhook-url needs --webhook-secret (Zoom signs every event)");
  if (c->ntokens == 0) token_list[c->ntokens++] = "sim-token";
  c->tokens = token_list;
}

static void seed_random(void) {
  uint64_t s = 0;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &s, sizeof s) != (ssize_t)sizeof s) s = 0;
    close(fd);
  }
  if (!s) s = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)sim_now();
  sim_random_seed(s);
}

int main(int argc, char **argv) {
  bool seeded = false;
  uint64_t seed = 0;
  parse_args(argc, argv, &seeded, &seed);
  if (seeded)
    sim_random_seed(seed);
  else
    seed_random();
  sim_cfg = sim_boot;

  /* Signals are taken synchronously by the main thread: block them before
   * any server thread exists so every thread inherits the mask. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  char err[512];
  int rc = 0;
  if (sim_state_load(sim_boot.fixtures, err, sizeof err)) {
    fprintf(stderr, "zoomlive-sim: %s\n", err);
    rc = 2;
  } else if (sim_faults_boot(boot_fault_list, err, sizeof err)) {
    fprintf(stderr, "zoomlive-sim: %s\n", err);
    rc = 2;
  } else if (sim_webhook_start()) {
    fprintf(stderr, "zoomlive-sim: cannot start the webhook thread\n");
    rc = 1;
  } else if ((rc = sim_http_start()) == 0) {
    int port = sim_http_port();
    if (!sim_boot.api_url[0]) {
      sim_lock();
      const char *host = sim_boot.bind;
      bool any = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
      bool v6 = strchr(host, ':') != NULL;
      snprintf(sim_boot.api_url, sizeof sim_boot.api_url, "%s://%s%s%s:%d",
               sim_boot.tls_cert ? "https" : "http", v6 && !any ? "[" : "",
               any ? "127.0.0.1" : host, v6 && !any ? "]" : "", port);
      memcpy(sim_cfg.api_url, sim_boot.api_url, sizeof sim_cfg.api_url);
      sim_unlock();
    }
    printf("%d\n", port);
    fflush(stdout);
    sim_vlog("listening on %s port %d", sim_boot.bind, port);
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {}
    sim_vlog("signal %d: stopping", sig);
    atomic_store(&sim_stopping, 1);
    sim_http_stop();
  }
  sim_webhook_stop();
  sim_lock();
  sim_state_free();
  sim_log_free();
  sim_faults_free();
  sim_oauth_reset();
  sim_unlock();
  cJSON_Delete(boot_fault_list);
  free(token_list);
  return rc;
}
