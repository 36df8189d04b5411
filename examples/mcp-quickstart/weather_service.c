/* The tutorial's weather service: POST /weather-alert {"city"} -> {"city","alert"}; GET / health.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

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

static int weather_alert(struct wdn_app_req *req, void *ud)
{
    json_t *in = json_loads(wdn_app_req_body(req, NULL), JSON_REJECT_DUPLICATES, NULL);
    const char *city = json_string_value(json_object_get(in, "city"));
    json_t *out;
    char buf[512];
    int rc;

    if (city == NULL) {
        out = json_pack("{s:s}", "detail", "city is required");
        rc = wdn_app_respond_json(req, 422, out);
    } else {
        out = json_pack("{s:s, s:s}", "city", city, "alert", alert_for(city, buf, sizeof(buf)));
        rc = wdn_app_respond_json(req, 200, out);
    }
    json_decref(in);
    json_decref(out);
    return rc;
}

static int health(struct wdn_app_req *req, void *ud)
{
    json_t *doc = json_pack("{s:s, s:s}", "status", "ok", "service", "weather-service");
    int rc = wdn_app_respond_json(req, 200, doc);

    json_decref(doc);
    return rc;
}

static int not_found(struct wdn_app_req *req, void *ud)
{
    json_t *doc = json_pack("{s:s}", "detail", "Not Found");
    int rc = wdn_app_respond_json(req, 404, doc);

    json_decref(doc);
    return rc;
}

int main(int argc, char **argv)
{
    struct wdn_app *app = app_new("weather_service", app_port(argc, argv, 8001));

    if (app == NULL || wdn_app_route(app, "POST", "/weather-alert", weather_alert, NULL) != 0 ||
        wdn_app_route(app, "GET", "/", health, NULL) != 0 ||
        wdn_app_route(app, NULL, NULL, not_found, NULL) != 0) {
        wdn_app_free(app);
        return 1;
    }
    return app_run("weather_service", app);
}
