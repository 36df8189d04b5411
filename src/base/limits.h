/* Every maximum warden enforces on input, in one place. Exceeding one is a clean 4xx or a
 * configuration error, never a crash. Modules add their limits here, grouped by module. */
#ifndef WDN_BASE_LIMITS_H
#define WDN_BASE_LIMITS_H

/* Files and names (src/base). */
#define WDN_MAX_PATH 4096                   /* a file path we build or take */
#define WDN_DNS_TTL_MS 10000               /* a looked-up name's addresses are reused this long
                                            * (sidecar peers, connection pools) */

/* HTTP/1.1 (src/http). nginx defaults: 1k client header buffer, 4 x 8k large buffers. */
#define WDN_HTTP_MAX_HEAD_BYTES 32768       /* request/status line + all headers -> 431 */
#define WDN_HTTP_MAX_LINE_BYTES 8192        /* one request line or header line -> 431/414 */
#define WDN_HTTP_MAX_HEADERS 100            /* header fields in one message -> 431 */
#define WDN_HTTP_MAX_METHOD_BYTES 32        /* method token -> 400 */
#define WDN_HTTP_MAX_TRAILER_BYTES 8192     /* all trailer fields of a chunked body -> 400 */
#define WDN_HTTP_MAX_CHUNK_EXT_BYTES 1024   /* chunk extensions on one chunk-size line -> 400 */
#define WDN_HTTP_MAX_BODY_BYTES (64u << 20) /* default request body cap -> 413 */
#define WDN_HTTP_MAX_PIPELINE 32            /* queued pipelined requests per connection */
#define WDN_HTTP_READ_BUF_BYTES 65536       /* per-connection read buffer */
#define WDN_HTTP_MAX_WRITE_QUEUE_BYTES (8u << 20) /* unsent response bytes -> WDN_EBUSY */

/* Time limits, milliseconds. */
#define WDN_HTTP_HEADER_TIMEOUT_MS 10000    /* whole request head must arrive within */
#define WDN_HTTP_IDLE_TIMEOUT_MS 60000      /* keep-alive idle connection */
#define WDN_HTTP_READ_TIMEOUT_MS 30000      /* gap between body reads; a stalled write */
#define WDN_HTTP_UPSTREAM_CONNECT_TIMEOUT_MS 5000
#define WDN_HTTP_UPSTREAM_TIMEOUT_MS 60000  /* no byte from the upstream for this long */
#define WDN_HTTP_SHUTDOWN_GRACE_MS 10000    /* graceful shutdown waits this long */
#define WDN_HTTP_STOP_FIRST_REQUEST_MS 2000 /* stopping: a new connection's first request */
#define WDN_HTTP_POOL_MAX_IDLE 64           /* idle keep-alive connections per upstream/worker */
#define WDN_HTTP_POOL_EVICT_MS 60000        /* a client's pool without connections this long goes */
#define WDN_HTTP_POOL_SWEEP_MS 5000         /* how often a client looks for such pools */

/* The blocking outbound client (src/http/fetch*.c): token endpoints, discovery, JWKS, MCP. */
#define WDN_FETCH_MAX_URL_BYTES 8192        /* a URL we request or a proxy URL */
#define WDN_FETCH_MAX_HOST_BYTES 255        /* host part of a URL (a DNS name's maximum) */
#define WDN_FETCH_MAX_PROXY_AUTH_BYTES 512  /* "user:password" of a proxy URL, decoded */
#define WDN_FETCH_MAX_REQUEST_HEAD_BYTES 65536 /* request line + headers we send */
#define WDN_FETCH_DEFAULT_MAX_BODY (1u << 20) /* response body cap when the caller sets none */
#define WDN_FETCH_DEFAULT_TIMEOUT_MS 10000  /* whole transfer when the caller sets none */
#define WDN_FETCH_POLL_SLICE_MS 50          /* longest wait between two looks at a stop flag */

/* TLS engine (src/http/tls.c) and the project CA (src/pki). */
#define WDN_TLS_IN_BUF_BYTES 32768          /* ciphertext input buffer offered to one read */
#define WDN_TLS_MAX_INPUT_BYTES (256u << 10) /* ciphertext waiting to be processed -> error */
#define WDN_TLS_WRITE_CHUNK_BYTES 65536     /* plaintext accepted by one wdn_tls_write */
#define WDN_TLS_OUT_HIGH_WATER 65536        /* pending ciphertext that stops new plaintext */
#define WDN_TLS_MAX_OUTPUT_BYTES (1u << 20) /* pending ciphertext, hard cap -> fatal error */
#define WDN_TLS_SESSION_CACHE_MAX 256       /* client sessions kept per context (endpoints) */
#define WDN_TLS_VERIFY_DEPTH 4              /* certificates above the peer's leaf */
#define WDN_SPIFFE_MAX_ID_BYTES 2048        /* a SPIFFE ID (the SPIFFE spec's maximum) */
#define WDN_SPIFFE_MAX_TRUST_DOMAIN_BYTES 255 /* trust domain part of a SPIFFE ID */
#define WDN_PKI_MAX_FILE_BYTES (64u << 10)  /* a PEM certificate or key file we read */
#define WDN_PKI_MAX_SANS 64                 /* extra DNS names + IPs on a server certificate */

/* JOSE / JWT (src/jose). */
#define WDN_JWT_MAX_TOKEN_BYTES 16384       /* compact JWS length */
#define WDN_JWT_MAX_HEADER_BYTES 4096       /* decoded JOSE header */
#define WDN_JSON_MAX_DEPTH 32               /* nesting of any JSON we parse */
#define WDN_JWKS_MAX_BYTES (1u << 20)       /* JWKS document */
#define WDN_JWKS_MAX_KEYS 64                /* keys kept from one JWKS */
#define WDN_JWK_MAX_KID_BYTES 256           /* one "kid" (JWK or token header) */
#define WDN_JWK_MAX_RSA_BITS 8192           /* larger RSA keys are skipped (verify cost) */
#define WDN_JWK_MAX_X5C_BYTES 16384         /* one decoded "x5c" certificate */
#define WDN_JWT_MAX_AUDIENCES 32            /* "aud" array entries examined */
#define WDN_JWT_MAX_SCOPES 256              /* scopes kept from "scope" / "scp" */
#define WDN_OIDC_MAX_DISCOVERY_BYTES (256u << 10) /* discovery document */
#define WDN_TOKEN_CACHE_MAX_ENTRIES (1u << 20)    /* verified-token cache capacity cap */
#define WDN_TOKEN_CACHE_DEFAULT_BYTES (8u << 20)  /* verified-token cache, per component */
#define WDN_TOKEN_CACHE_MIN_BYTES (64u << 10)     /* smallest budget (tokenCacheSize) */
#define WDN_TOKEN_CACHE_MAX_BYTES (1u << 30)      /* largest budget (tokenCacheSize) */
#define WDN_TOKEN_CACHE_ENTRY_BYTES 512           /* budget per index slot preallocated */
#define WDN_INTROSPECT_MAX_BYTES (64u << 10)      /* one RFC 7662 introspection answer */
#define WDN_INTROSPECT_OUTCOMES 1024              /* recent outcomes kept (power of two) */
#define WDN_INTROSPECT_MAX_WAITERS 16             /* requests sharing one call; more: 503 */
#define WDN_INTROSPECT_AUTH_MAX_BYTES 4096        /* the endpoint's Authorization header line */
#define WDN_OIDC_MAX_ISSUERS 16                   /* trusted issuers per bearer component */

/* JSON-RPC / MCP (src/mcp). */
#define WDN_JSONRPC_MAX_BYTES (4u << 20)    /* one JSON-RPC message or batch */
#define WDN_SSE_MAX_EVENT_BYTES (1u << 20)  /* one server-sent event */
#define WDN_MCP_MAX_SESSIONS 1024          /* live Streamable HTTP sessions per server -> 503 */
#define WDN_MCP_SESSION_IDLE_MS (30 * 60 * 1000) /* a session unused this long is dropped */
#define WDN_MCP_MAX_TOOLS 1024             /* tools, resources, templates or prompts each */
#define WDN_MCP_MAX_BATCH 64               /* messages in one 2025-03-26 batch -> 400 */
#define WDN_MCP_MAX_INFLIGHT 4096          /* requests being handled at once (cancellation) */
#define WDN_MCP_MAX_HEADER_VALUE 1024      /* an MCP header value we read or send */
#define WDN_MCP_MAX_HEADER_NAME 64         /* a header name the MCP core sends (http_adapter.c) */
#define WDN_MCP_MAX_OUT_HEADERS 8          /* headers one MCP answer carries (http_adapter.c) */
#define WDN_MCP_CLIENT_MAX_RESPONSE_BYTES (16u << 20) /* one HTTP response body to the client */
#define WDN_MCP_CLIENT_TIMEOUT_MS 30000    /* one client HTTP exchange, default */
#define WDN_MCP_RESUME_MAX_EVENTS 256      /* events kept for replay per resumable SSE stream */
#define WDN_MCP_RESUME_MAX_BYTES (2u << 20) /* bytes kept for replay per resumable SSE stream */
#define WDN_MCP_RESUME_MAX_TOTAL_BYTES (64u << 20) /* replay bytes of all streams of a server */
#define WDN_MCP_RESUME_MAX_STREAMS 16      /* resumable SSE streams kept per session */
#define WDN_MCP_RESUME_TTL_MS 60000        /* a stream is kept this long after it ended or lost
                                              its connection */
#define WDN_MCP_RESUME_MAX_RETRY_MS 60000  /* largest retry: a server may set (sse_poll_ms) */
#define WDN_MCP_CLIENT_RESUME_MAX 16       /* client reconnections (GET + Last-Event-ID) per call */
#define WDN_MCP_CLIENT_RESUME_WAIT_MS 250  /* client wait before reconnecting without retry: */
#define WDN_MCP_CLIENT_RESUME_MAX_WAIT_MS 10000 /* longest retry: wait the client honours */

/* Resources (src/resources). */
#define WDN_YAML_MAX_BYTES (4u << 20)       /* one YAML file */
#define WDN_YAML_MAX_DEPTH 32               /* nesting of YAML nodes */
#define WDN_POLICY_MAX_RULES 4096           /* access-control rules in one configuration */
#define WDN_YAML_MAX_NODES 200000           /* YAML nodes in one document */
#define WDN_YAML_MAX_FLOW_DEPTH 64          /* unclosed [ or { in one file (libyaml cost) */
#define WDN_YAML_MAX_DOCS 1024              /* documents in one YAML file or stream */
#define WDN_YAML_MAX_SCALAR_BYTES 65536     /* one scalar value */
#define WDN_RES_MAX_LIST 4096               /* items in one list or mapping of a resource */
#define WDN_RES_MAX_FILES 1024              /* YAML files taken from one folder */
#define WDN_RES_MAX_RESOURCES 4096          /* resources in one set */
#define WDN_RES_MAX_ERRORS 100              /* messages kept; later ones are counted, dropped */
#define WDN_RES_MAX_NAME 253                /* metadata.name (DNS-1123 subdomain) */
#define WDN_RES_MAX_APPID 128               /* an app ID */
#define WDN_RES_ARENA_MAX (256u << 20)      /* memory of one loaded set */
#define WDN_POLICY_MAX_OP_BYTES 4096        /* an operation (method path) the ACL evaluates */
#define WDN_POLICY_MAX_SEGMENTS 128         /* path segments in one ACL operation */

/* The authorization server behind `warden issuer` (src/authserver). */
#define WDN_ISSUER_MAX_BODY_BYTES 16384     /* a token request body -> 413 */
#define WDN_ISSUER_MAX_CLIENTS 256          /* clients from flags and the clients file */
#define WDN_ISSUER_MAX_AUDIENCES 32         /* allowed audiences of one client */
#define WDN_ISSUER_MAX_SCOPES 64            /* allowed scopes of one client, or asked for */
#define WDN_ISSUER_MAX_FIELD_BYTES 1024     /* a client id, secret, audience or scope */
#define WDN_ISSUER_MAX_KEYS 16              /* signing keys kept in the state folder */
#define WDN_ISSUER_MAX_STATE_BYTES (64u << 10) /* keys.json or client.json we read */
#define WDN_ISSUER_MAX_CLIENTS_FILE_BYTES (1u << 20) /* the --clients YAML file */
#define WDN_ISSUER_MAX_URI_BYTES 2048       /* a redirect URI, client_id URL or resource */
#define WDN_ISSUER_MAX_STATE_PARAM 1024     /* the authorization request's state, echoed back */
#define WDN_ISSUER_MAX_REDIRECTS 16         /* redirect URIs of one client */
#define WDN_ISSUER_MAX_REG_CLIENTS 1024     /* clients in clients.json (CLI and DCR) */
#define WDN_ISSUER_MAX_USERS 1024           /* users in users.json */
#define WDN_ISSUER_MAX_STORE_BYTES (8u << 20) /* users/clients/consents/refresh .json we read */
#define WDN_ISSUER_MAX_SESSIONS 4096        /* browser sessions (oldest dropped first) */
#define WDN_ISSUER_SESSION_LIFETIME_S (8 * 3600) /* a session, from its start */
#define WDN_ISSUER_MAX_PENDING 1024         /* authorization requests waiting for a person */
#define WDN_ISSUER_PENDING_LIFETIME_S 600   /* ... and how long they wait */
#define WDN_ISSUER_MAX_CODES 1024           /* authorization codes not yet expired */
#define WDN_ISSUER_CODE_LIFETIME_S 60       /* an authorization code (single use) */
#define WDN_ISSUER_MAX_CONSENTS 8192        /* remembered consents */
#define WDN_ISSUER_MAX_REFRESH 16384        /* refresh tokens kept (spent ones until expiry) */
#define WDN_ISSUER_MAX_THROTTLE 4096        /* users and addresses with failed sign-ins */
#define WDN_ISSUER_THROTTLE_FREE_USER 5     /* failed sign-ins of a user before waits start */
#define WDN_ISSUER_THROTTLE_FREE_ADDR 20    /* ... from one address */
#define WDN_ISSUER_THROTTLE_MAX_WAIT_S 300  /* the longest wait (doubling from 1 s) */
#define WDN_ISSUER_THROTTLE_FORGET_S 900    /* failures forgotten after this quiet time */
#define WDN_ISSUER_SCRYPT_LOG_N 15          /* scrypt N = 2^15, r = 8, p = 1 (32 MiB) */
#define WDN_ISSUER_MAX_PASSWORD_BYTES 1024  /* a password (sign-in form or user add) */
#define WDN_ISSUER_CIMD_MAX_BYTES 16384     /* a Client ID Metadata Document */
#define WDN_ISSUER_CIMD_TIMEOUT_MS 5000     /* fetching one, connect included */
#define WDN_ISSUER_CIMD_CACHE 256           /* documents cached */
#define WDN_ISSUER_CIMD_DEFAULT_AGE_S 300   /* cache time without Cache-Control max-age */
#define WDN_ISSUER_CIMD_MAX_AGE_S 86400     /* the longest a document is cached */

/* Pipelines and the sidecar (src/pipeline, src/sidecar). */
#define WDN_SIDECAR_MAX_PEERS 1024          /* entries of a --peers file */
#define WDN_SIDECAR_MAX_RESOURCE_PATHS 16   /* --resources-path given several times */
#define WDN_SIDECAR_RELOAD_DEBOUNCE_MS 50   /* quiet time after a file event before reloading */
#define WDN_SIDECAR_RESOLVE_TTL_MS 1000     /* a registry lookup is reused this long */
#define WDN_SIDECAR_READY_KEYS_MS 10000     /* healthz waits this long at most for the first keys */
#define WDN_SIDECAR_MAX_API_TOKEN 4096      /* DAPR_API_TOKEN / APP_API_TOKEN bytes */
#define WDN_SIDECAR_MAX_HOST_BYTES 253      /* a peer's host name (DNS), as RFC 1035 allows */
#define WDN_SIDECAR_MAX_PEER_DNS_BYTES 256  /* the --peer-dns template */
#define WDN_SIDECAR_DNS_RETRY_MS 1000       /* a name is not looked up again sooner than this */
#define WDN_SIDECAR_DNS_MAX_NAMES 256       /* peer host names whose addresses are cached */
#define WDN_SIDECAR_DNS_MAX_ADDRS 8         /* addresses kept per name, tried in turn */
#define WDN_SIDECAR_MAX_CERT_FILE_BYTES (256u << 10) /* tls.crt, tls.key or ca.crt of --cert-dir */
#define WDN_SIDECAR_MAX_CERT_CHAIN 8        /* intermediates after the leaf in tls.crt */
#define WDN_SIDECAR_MAX_TRUST_CERTS 64      /* certificates in ca.crt */
#define WDN_SIDECAR_CERT_POLL_MS 10000      /* --cert-dir re-read this often besides inotify */
#define WDN_SIDECAR_CERT_EXPIRY_WARN_SECS 3600 /* warn when the --cert-dir leaf is this close */

/* Audit records (src/audit) and tracing (src/trace). */
#define WDN_AUDIT_MAX_RECORD_BYTES 65536    /* one record line; verify/query call longer broken */
#define WDN_AUDIT_MAX_FIELD_BYTES 1024      /* one string field of a record (longer is cut) */
#define WDN_AUDIT_MAX_ARGS_BYTES 16384      /* tool arguments kept with --audit-args (else hash) */
#define WDN_AUDIT_QUEUE_DEFAULT 8192        /* records waiting for the writer; more are dropped */
#define WDN_AUDIT_QUEUE_MAX (1u << 20)
#define WDN_AUDIT_ROTATE_DEFAULT_BYTES (100ull << 20) /* --audit-max-size default */
#define WDN_AUDIT_ROTATE_MIN_BYTES 4096     /* smaller sizes are refused */
#define WDN_AUDIT_KEEP_DEFAULT 5            /* rotated files kept (FILE.1 .. FILE.5) */
#define WDN_AUDIT_KEEP_MAX 1000
#define WDN_AUDIT_MAX_FILES 4096            /* files one `audit verify|query` reads */
#define WDN_AUDIT_DRAIN_MS 5000             /* the writer's last flush at shutdown */
#define WDN_AUDIT_BATCH_BYTES (256u << 10)  /* records written by one system call */
#define WDN_AUDIT_FLUSH_MS 50               /* a record waits at most this long to be written */
#define WDN_AUDIT_QUEUE_RECORD_BYTES 512    /* queue bytes per record of --audit-queue (~250 used) */
#define WDN_TRACESTATE_MAX_BYTES 512        /* a longer tracestate is dropped, not forwarded */
#define WDN_TRACESTATE_MAX_MEMBERS 32       /* W3C Trace Context's maximum */
#define WDN_TRACE_QUEUE_DEFAULT 4096        /* spans waiting for export; more are dropped */
#define WDN_TRACE_QUEUE_MAX (1u << 16)
#define WDN_TRACE_QUEUE_SPAN_BYTES 512      /* queue bytes per span (a sidecar span takes ~250) */
#define WDN_TRACE_BATCH_MAX 512             /* spans in one OTLP/HTTP request */
#define WDN_TRACE_FLUSH_MS 1000             /* a partial batch leaves after this long */
#define WDN_TRACE_EXPORT_TIMEOUT_MS 10000   /* one export request */
#define WDN_TRACE_MAX_ATTRS 10              /* attributes on one span */
#define WDN_TRACE_ATTR_BYTES 512            /* string bytes of one span's name and attributes */
#define WDN_TRACE_MAX_URL_BYTES 2048        /* otel.endpointAddress */

/* MCP server: multi round-trip requests, tasks, pagination, schemas (src/mcp). */
#define WDN_MCP_MAX_INPUT_REQUESTS 16      /* inputRequests one round of a handler may queue */
#define WDN_MCP_MAX_INPUT_ROUNDS 16        /* rounds of input one task or session call may take */
#define WDN_MCP_STATE_TTL_MS (10 * 60 * 1000) /* a requestState is accepted this long */
#define WDN_MCP_MAX_STATE_BYTES (64u << 10) /* a sealed requestState (state and answers so far) */
#define WDN_MCP_MAX_TASKS 256              /* tasks a server keeps (running and finished) */
#define WDN_MCP_MAX_TASK_THREADS 32        /* tasks running at once (one thread each) */
#define WDN_MCP_TASK_TTL_MS (10 * 60 * 1000) /* default ttlMs of a task */
#define WDN_MCP_TASK_POLL_MS 1000          /* default pollIntervalMs of a task */
#define WDN_MCP_TASK_INPUT_WAIT_MS (10 * 60 * 1000) /* a task waits this long for tasks/update */
#define WDN_MCP_PAGE_SIZE 100              /* default entries per page of a list method */
#define WDN_MCP_MAX_CURSOR 64              /* bytes of a list cursor we accept */
#define WDN_MCP_SCHEMA_MAX_PATTERN 1024    /* bytes of one JSON Schema pattern */
#define WDN_MCP_SCHEMA_MATCH_LIMIT 100000  /* PCRE2 match limit (backtracking steps) per match */
#define WDN_MCP_SCHEMA_DEPTH_LIMIT 1000    /* PCRE2 depth (nested backtracking) limit per match */
#define WDN_MCP_SCHEMA_MAX_NODES 4096      /* subschemas in one compiled schema */

/* The MCP client's authorization and 2026-07-28 additions (src/mcp/client*.c, src/oauth2). */
#define WDN_MCP_CLIENT_AUTH_RETRIES 3       /* 401/403 the auth provider may resolve per request */
#define WDN_MCP_CLIENT_INPUT_ROUNDS 8       /* input_required rounds (MRTR) per request */
#define WDN_MCP_CLIENT_MAX_PARAM_HEADERS 32 /* Mcp-Param-* headers of one tools/call */
#define WDN_MCP_CLIENT_MAX_TOOL_MAPS 1024   /* tools whose x-mcp-header mapping is remembered */
#define WDN_MCP_CLIENT_LIST_PAGES 100       /* pages a list call follows (nextCursor) */
#define WDN_MCP_CLIENT_LISTEN_ROUNDS 64     /* times the standalone GET stream is reopened */
#define WDN_MCP_CLIENT_LISTEN_WAIT_MS 5000  /* connect waits this long for the GET stream */
#define WDN_OAUTH2_MAX_METADATA_BYTES (256u << 10) /* an RFC 9728 / RFC 8414 document */
#define WDN_OAUTH2_MAX_TOKEN_RESPONSE (64u << 10)  /* a token or registration endpoint answer */
#define WDN_OAUTH2_MAX_URL 2048             /* any URL the OAuth client builds or accepts */
#define WDN_OAUTH2_MAX_SCOPE 1024           /* a scope string the client sends */
#define WDN_OAUTH2_AUTH_ATTEMPTS 2          /* authorizations without an accepted request between */
#define WDN_OAUTH2_LOGIN_TIMEOUT_MS 300000  /* the loopback listener waits for the browser */
#define WDN_OAUTH2_CALLBACK_MAX_BYTES 8192  /* the redirect request the listener reads */
#define WDN_OAUTH2_TOKEN_CACHE_MAX_BYTES (64u << 10) /* one cached token file */

/* The sidecar as an OAuth resource server (RFC 9728 metadata, step-up challenges). */
#define WDN_POLICY_MAX_SCOPES 64            /* scopes in one step-up challenge or scopes_supported */
#define WDN_PRM_MAX_BYTES 16384             /* a protected resource metadata document */
/* The C MCP client: a cancelled tools/call that may become a task (SEP-2663) waits this long for
 * its answer, so that a CreateTaskResult still on its way is ended with tasks/cancel. */
#define WDN_MCP_CLIENT_TASK_CANCEL_WAIT_MS 3000

/* Failover to another upstream (src/http/proxy.c's reroute hook; the sidecar's peer addresses). */
#define WDN_HTTP_PROXY_MAX_REROUTES 8       /* other upstreams one request may be sent to */
#define WDN_SIDECAR_DNS_FAIL_MS 30000       /* a peer address that failed is avoided this long */
/* Memory (issue 20): a server worker that served no request for this long after some load hands
 * malloc's free pages back to the kernel (malloc_trim): a past load's buffers leave the RSS. */
#define WDN_HTTP_IDLE_TRIM_MS 1000
/* Nesting of a JSON answer the MCP server writes (a tool's structured content included): deeper,
 * or a cycle, answers 500 (mcp/jsonrpc.c wdn__mcp_json_write). */
#define WDN_MCP_ANSWER_MAX_DEPTH 256

/* A request's arena block (src/http/conn.c): a proxied request's header copy (struct
 * wdn_http_hdrs, 4.2 KB) and the rest of what the sidecar keeps per request fit in one block, so
 * a request costs one allocation there (4096 needed two: issue 20). */
#define WDN_HTTP_REQ_ARENA_BLOCK_BYTES 8192

/* The largest plaintext of one TLS record (RFC 8446 section 5.1): the pieces of one write that
 * fit (a response head and a small body) are sealed as one record (src/http/transport.c). */
#define WDN_TLS_RECORD_PLAIN_BYTES 16384

#endif
