/* The tutorial's MCP server in C: stateless Streamable HTTP at /mcp with add, get_weather_alert,
 * echo; the weather tool calls the weather service through its Dapr-compatible sidecar. With
 * OTEL_EXPORTER_OTLP_ENDPOINT set, each request is a span of the caller's trace, and the weather
 * call carries it on (docs/tracing.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "warden/trace.h"

static int tool_add(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    char buf[32];

    (void)ud;
    snprintf(buf, sizeof(buf), "%lld",
             (long long)(json_integer_value(json_object_get(args, "a")) +
                         json_integer_value(json_object_get(args, "b"))));
    return wdn_mcp_call_text(call, buf);
}

static int tool_echo(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    char *text;
    size_t n;
    int rc;

    (void)ud;
    n = json_string_length(json_object_get(args, "message")) + 8;
    text = malloc(n);
    if (text == NULL)
        return WDN_ENOMEM;
    snprintf(text, n, "Echo: %s", json_string_value(json_object_get(args, "message")));
    rc = wdn_mcp_call_text(call, text);
    free(text);
    return rc;
}

/* Runs on the HTTP server's thread pool, so the blocking call is fine. A failure is told to the
 * model as the tool's text, as the tutorial's server does. */
static int tool_weather(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    const char *endpoint = app_env("DAPR_HTTP_ENDPOINT", NULL);
    const char *token = app_env("DAPR_API_TOKEN", NULL);
    char url[1024], port_url[64], auth[1200], text[1024], tp[80];
    const char *headers[4] = {"Content-Type: application/json", NULL, NULL, NULL};
    size_t nh = 1;
    struct wdn_app_response resp;
    json_t *body = json_pack("{s:O}", "city", json_object_get(args, "city")), *answer = NULL;
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int rc = WDN_ENOMEM;

    if (endpoint == NULL) {
        snprintf(port_url, sizeof(port_url), "http://127.0.0.1:%s",
                 app_env("DAPR_HTTP_PORT", "3500"));
        endpoint = port_url;
    }
    snprintf(url, sizeof(url), "%s/v1.0/invoke/weather-service/method/weather-alert", endpoint);
    if (token != NULL) {
        snprintf(auth, sizeof(auth), "dapr-api-token: %s", token);
        headers[nh++] = auth;
    }
    /* The trace goes on through the sidecar to the weather service. */
    memcpy(tp, "traceparent: ", 13);
    if (wdn_mcp_call_traceparent(call, tp + 13, sizeof(tp) - 13) == 0)
        headers[nh++] = tp;
    if (payload != NULL) {
        struct wdn_app_fetch req = {.method = "POST",
                                    .url = url,
                                    .headers = headers,
                                    .body = payload,
                                    .body_len = strlen(payload),
                                    .timeout_ms = 10000};
        rc = wdn_app_fetch(&req, &resp, NULL, 0);
    }
    if (rc != 0) {
        snprintf(text, sizeof(text), "Error fetching weather alert: %s", wdn_strerror(rc));
    } else if (resp.status != 200) {
        snprintf(text, sizeof(text), "Error fetching weather alert: HTTP %ld", resp.status);
    } else {
        answer = json_loadb(resp.body, resp.body_len, 0, NULL);
        if (json_is_string(json_object_get(answer, "alert")))
            snprintf(text, sizeof(text), "%s", json_string_value(json_object_get(answer, "alert")));
        else
            snprintf(text, sizeof(text), "Error fetching weather alert: unexpected response");
    }
    if (rc == 0)
        wdn_app_fetch_reset(&resp);
    json_decref(answer);
    json_decref(body);
    free(payload);
    return wdn_mcp_call_text(call, text);
}

int main(int argc, char **argv)
{
    const char *hosts_env = getenv("MCP_ALLOWED_HOSTS");
    const char *hosts[2] = {hosts_env, NULL};
    struct wdn_mcp_server_config cfg = {
        .name = "weather-tools",
        .version = "1.0.0",
        .path = "/mcp",
        .stateless = true,
        .allowed_hosts = hosts_env ? hosts : NULL,
    };
    struct wdn_mcp_tool tools[] = {
        {.name = "add",
         .description = "Add two numbers together.",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},"
                         "\"b\":{\"type\":\"integer\"}},\"required\":[\"a\",\"b\"]}",
         .fn = tool_add,
         .quick = true}, /* runs on the HTTP thread: no hand-off to the thread pool */
        {.name = "get_weather_alert",
         .description = "Get a weather alert for a given city.",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
                         "\"required\":[\"city\"]}",
         .fn = tool_weather},
        {.name = "echo",
         .description = "Echo back a message.",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"}},"
                         "\"required\":[\"message\"]}",
         .fn = tool_echo,
         .quick = true},
    };
    struct wdn_mcp_server *srv;
    struct wdn_tracer *tracer;
    struct wdn_app *app;
    size_t i;
    int rc;

    srv = wdn_mcp_server_new(&cfg);
    if (srv == NULL) {
        fprintf(stderr, "mcp_server: out of memory\n");
        return 1;
    }
    tracer = wdn_tracer_from_env("mcp-server"); /* NULL: no OTEL_EXPORTER_OTLP_ENDPOINT */
    wdn_mcp_server_set_tracer(srv, tracer);
    for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
        if ((rc = wdn_mcp_server_add_tool(srv, &tools[i])) != 0) {
            fprintf(stderr, "mcp_server: tool %s: %s\n", tools[i].name, wdn_strerror(rc));
            wdn_mcp_server_free(srv);
            wdn_tracer_free(tracer);
            return 1;
        }
    }
    /* add and echo are quick and run on the HTTP thread; get_weather_alert blocks on its sidecar
     * call and runs on the thread pool. */
    app = app_new("mcp_server", app_port(argc, argv, 8000));
    if (app == NULL || wdn_app_mcp(app, "/mcp", srv, false) != 0) {
        wdn_app_free(app);
        wdn_mcp_server_free(srv);
        wdn_tracer_free(tracer);
        return 1;
    }
    rc = app_run("mcp_server", app);
    wdn_mcp_server_free(srv);
    wdn_tracer_free(tracer);
    return rc;
}
