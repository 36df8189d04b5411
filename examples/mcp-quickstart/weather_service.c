/* The tutorial's weather service: POST /weather-alert {"city"} -> {"city","alert"}; GET / health.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "base/error.h"

static const char *alert_for(const char *city, char *buf, size_t cap)
{
    static const char *const table[][2] = {
        {"chicago", "Severe thunderstorm warning until 6 PM CDT"},
        {"new york", "Heat advisory in effect until 8 PM EDT"},
        {"los angeles", "Air quality alert - moderate"},
    };
    char lower[256];
    size_t i;

    for (i = 0; city[i] != '\0' && i + 1 < sizeof(lower); i++)
        lower[i] = (char)tolower((unsigned char)city[i]);
    lower[i] = '\0';
    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(lower, table[i][0]) == 0)
            return table[i][1];
    snprintf(buf, cap, "No active alerts for %s", city);
    return buf;
}

static void on_body(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    json_t *in = NULL, *out = NULL;
    const char *city;
    char buf[512];

    (void)ud;
    if (status < 0) {
        wdn_http_respond(req, status == WDN_ELIMIT ? 413 : 400, NULL, 0, WDN_STR(""));
        return;
    }
    in = json_loadb(body.p, body.len, JSON_REJECT_DUPLICATES, NULL);
    city = json_string_value(json_object_get(in, "city"));
    if (city == NULL) {
        out = json_pack("{s:s}", "detail", "city is required");
        app_respond_json(req, 422, out);
    } else {
        out = json_pack("{s:s, s:s}", "city", city, "alert", alert_for(city, buf, sizeof(buf)));
        app_respond_json(req, 200, out);
    }
    json_decref(in);
    json_decref(out);
}

static int on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    const struct wdn_http_request *h = wdn_http_req_head(req);
    json_t *doc;

    (void)self;
    if (wdn_str_eq_cstr(h->path, "/weather-alert") && wdn_str_eq_cstr(h->method, "POST")) {
        wdn_http_req_read_all(req, 65536, on_body, NULL);
        return 0;
    }
    if (wdn_str_eq_cstr(h->path, "/") && wdn_str_eq_cstr(h->method, "GET")) {
        doc = json_pack("{s:s, s:s}", "status", "ok", "service", "weather-service");
    } else {
        doc = json_pack("{s:s}", "detail", "Not Found");
        app_respond_json(req, 404, doc);
        json_decref(doc);
        return 0;
    }
    app_respond_json(req, 200, doc);
    json_decref(doc);
    return 0;
}

int main(int argc, char **argv)
{
    struct wdn_http_handler h = {.on_req = on_req};
    struct wdn_http_handler *chain[] = {&h};

    return app_serve("weather_service", chain, 1, app_port(argc, argv, 8001), 1);
}
