// metrics_text.h: a page in the Prometheus text exposition format, version 0.0.4.
//
// Built one metric family at a time: its HELP and TYPE lines, then its samples. Label
// values are escaped as the format says (backslash, double quote, line feed), HELP texts
// too (backslash, line feed). Integers print exactly; other numbers in the shortest form
// that reads back to the same double, with +Inf, -Inf and NaN spelled as Prometheus does.
// A histogram is given per-bucket counts and printed cumulative, its +Inf bucket equal to
// its _count. Names are the caller's constants (checked in debug builds).
// Thread: any; one instance per page.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace appserver::server {

class MetricsText {
 public:
  // The Content-Type of the page.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  struct Label {
    std::string_view name;
    std::string_view value;  // any bytes; escaped here
  };

  // Starts a family: "# HELP name help" and "# TYPE name type".
  // @param type "counter", "gauge" or "histogram"
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample line of the current family.
  void sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value);
  void sample(std::string_view name, std::initializer_list<Label> labels, int64_t value);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  // A whole histogram family: name_bucket{le=...} for each bound and +Inf, name_sum and
  // name_count. counts: one per bucket, not cumulative, the last one above every bound
  // (so counts.size() == bounds.size() + 1). sum in the family's unit.
  void histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                 std::span<const uint64_t> counts, double sum);

  const std::string& text() const { return out_; }

  static std::string escapeLabelValue(std::string_view value);
  static std::string escapeHelp(std::string_view help);
  static std::string formatNumber(double value);

 private:
  void line(std::string_view name, std::initializer_list<Label> labels, std::string_view value);

  std::string out_;
};

}  // namespace appserver::server
