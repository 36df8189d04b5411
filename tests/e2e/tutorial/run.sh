# Both tutorials end to end, their command lines as written with `warden` for `diagrid`:
# scripts/demo --check runs them against this build and asserts every outcome.
exec bash "$WDN_SOURCE_DIR/scripts/demo" --bin "$1" --check
