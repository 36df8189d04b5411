# Both tutorials end to end, their command lines as written with `warden` for `diagrid`:
# scripts/demo --check runs them against this build and asserts every outcome (`make demo`);
# readme.sh pastes the README's tutorial blocks as a user would and compares the outputs the
# README shows (issue 14: "the tutorial walked by pasting everything the README says to paste").
bash "$WDN_SOURCE_DIR/scripts/demo" --bin "$1" --check; demo=$?
bash "$WDN_SOURCE_DIR/tests/e2e/tutorial/readme.sh" "$1"; readme=$?
bash "$WDN_SOURCE_DIR/tests/e2e/tutorial/readme.sh" "$1" \
    "$WDN_SOURCE_DIR/examples/mcp-quickstart/README.md" examples/mcp-quickstart; example=$?
[ $demo -eq 0 ] && [ $readme -eq 0 ] && [ $example -eq 0 ]
