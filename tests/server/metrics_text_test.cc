// metrics_text_test.cc: the Prometheus text format as MetricsText writes it: HELP and TYPE
// lines, label and HELP escaping, number spelling, cumulative histograms.
// Thread: the test's main thread.
#include "metrics_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace appserver::server {
namespace {

TEST(MetricsText, WritesHelpAndTypeBeforeSamples) {
  MetricsText page;
  page.family("appserver_things_total", "counter", "Things counted.");
  page.sample("appserver_things_total", {}, uint64_t{3});
  page.sample("appserver_things_total", {{"kind", "a"}, {"size", "b"}}, int64_t{-2});
  EXPECT_EQ(page.text(),
            "# HELP appserver_things_total Things counted.\n"
            "# TYPE appserver_things_total counter\n"
            "appserver_things_total 3\n"
            "appserver_things_total{kind=\"a\",size=\"b\"} -2\n");
}

TEST(MetricsText, EscapesBackslashQuoteAndNewlineInLabelValues) {
  EXPECT_EQ(MetricsText::escapeLabelValue(R"(C:\dir "x")"), R"(C:\\dir \"x\")");
  EXPECT_EQ(MetricsText::escapeLabelValue("a\nb"), "a\\nb");
  EXPECT_EQ(MetricsText::escapeLabelValue("unix:/run/app.sock"), "unix:/run/app.sock");
  MetricsText page;
  page.sample("m", {{"listener", "unix:/tmp/\"odd\"\\\n"}}, uint64_t{1});
  EXPECT_EQ(page.text(), "m{listener=\"unix:/tmp/\\\"odd\\\"\\\\\\n\"} 1\n");
}

TEST(MetricsText, EscapesBackslashAndNewlineButNotQuotesInHelp) {
  EXPECT_EQ(MetricsText::escapeHelp("a \"b\" \\ c\nd"), "a \"b\" \\\\ c\\nd");
}

TEST(MetricsText, SpellsNumbersAsPrometheusReadsThem) {
  EXPECT_EQ(MetricsText::formatNumber(0.005), "0.005");
  EXPECT_EQ(MetricsText::formatNumber(2.5), "2.5");
  EXPECT_EQ(MetricsText::formatNumber(10), "10");
  EXPECT_EQ(MetricsText::formatNumber(0), "0");
  EXPECT_EQ(MetricsText::formatNumber(1e-7), "1e-07");
  EXPECT_EQ(MetricsText::formatNumber(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(MetricsText::formatNumber(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(MetricsText::formatNumber(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(MetricsText::formatNumber(0.1 + 0.2)), 0.1 + 0.2);  // round trip
}

TEST(MetricsText, PrintsUnsignedCountersExactly) {
  MetricsText page;
  page.sample("m", {}, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(page.text(), "m 18446744073709551615\n");
}

TEST(MetricsText, WritesHistogramBucketsCumulativeWithInfEqualToCount) {
  MetricsText page;
  const std::vector<double> bounds = {0.1, 1};
  const std::vector<uint64_t> counts = {2, 0, 3};  // 2 fast, none middling, 3 slow
  page.histogram("appserver_wait_seconds", "Waits.", bounds, counts, 12.25);
  EXPECT_EQ(page.text(),
            "# HELP appserver_wait_seconds Waits.\n"
            "# TYPE appserver_wait_seconds histogram\n"
            "appserver_wait_seconds_bucket{le=\"0.1\"} 2\n"
            "appserver_wait_seconds_bucket{le=\"1\"} 2\n"
            "appserver_wait_seconds_bucket{le=\"+Inf\"} 5\n"
            "appserver_wait_seconds_sum 12.25\n"
            "appserver_wait_seconds_count 5\n");
}

}  // namespace
}  // namespace appserver::server
