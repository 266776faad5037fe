// metrics_text.cc: escaping, number formatting and histogram lines.
//
// Thread: see metrics_text.h.
#include "metrics_text.h"

#include <fmt/format.h>

#include <cmath>

#include "check.h"

namespace appserver::server {

namespace {

[[maybe_unused]] bool isName(std::string_view name, bool colons) {  // asserts only
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || (colons && c == ':');
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string MetricsText::escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string MetricsText::escapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string MetricsText::formatNumber(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  return fmt::format("{}", value);  // shortest round-trip form: 0.005, 2.5, 10, 1e-07
}

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help) {
  APPSERVER_ASSERT(isName(name, true));
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, escapeHelp(help),
                 name, type);
}

void MetricsText::line(std::string_view name, std::initializer_list<Label> labels,
                       std::string_view value) {
  APPSERVER_ASSERT(isName(name, true));
  out_ += name;
  if (labels.size() > 0) {
    char separator = '{';
    for (const Label& l : labels) {
      APPSERVER_ASSERT(isName(l.name, false));
      fmt::format_to(std::back_inserter(out_), "{}{}=\"{}\"", separator, l.name,
                     escapeLabelValue(l.value));
      separator = ',';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void MetricsText::sample(std::string_view name, std::initializer_list<Label> labels,
                         uint64_t value) {
  line(name, labels, fmt::format("{}", value));
}

void MetricsText::sample(std::string_view name, std::initializer_list<Label> labels,
                         int64_t value) {
  line(name, labels, fmt::format("{}", value));
}

void MetricsText::sample(std::string_view name, std::initializer_list<Label> labels,
                         double value) {
  line(name, labels, formatNumber(value));
}

void MetricsText::histogram(std::string_view name, std::string_view help,
                            std::span<const double> bounds, std::span<const uint64_t> counts,
                            double sum) {
  APPSERVER_CHECK(counts.size() == bounds.size() + 1);
  family(name, "histogram", help);
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::string le = i < bounds.size() ? formatNumber(bounds[i]) : "+Inf";
    sample(bucket, {{"le", le}}, cumulative);
  }
  sample(std::string(name) + "_sum", {}, sum);
  sample(std::string(name) + "_count", {}, cumulative);
}

}  // namespace appserver::server
