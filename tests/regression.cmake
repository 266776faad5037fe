# Security regressions (docs/security.md): the exploits of llhttp's CVEs and the bugs found
# by the fuzzers (fuzz/) and the sanitizers, each replayed as a test. A test whose bug is not
# fixed yet skips with "bug: ..." so the suite stays green.
#
# Included from tests/CMakeLists.txt; kept apart from the per-module binaries so that the
# regression list has one owner. Test names keep the module prefixes ("server.", "integration.").

add_executable(appserver_server_regression_tests
  server/http_smuggling_regression_test.cc
  server/parse_stream.cc
)
target_include_directories(appserver_server_regression_tests PRIVATE server)
target_link_libraries(appserver_server_regression_tests PRIVATE
  appserver_server GTest::gtest_main Threads::Threads)
gtest_discover_tests(appserver_server_regression_tests TEST_PREFIX "server." DISCOVERY_TIMEOUT 30)

# The same payloads through a real server: tests/integration/test_smuggling.py.
add_test(NAME integration.smuggling
  COMMAND ${Python_EXECUTABLE} -m unittest -v test_smuggling
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(integration.smuggling PROPERTIES
  ENVIRONMENT "APPSERVER_BIN=$<TARGET_FILE:appserver>;PYTHONDONTWRITEBYTECODE=1"
  TIMEOUT 120)
