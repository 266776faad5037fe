// config_sources.cc: shell-word splitting, finding and evaluating the configuration file.
//
// Thread: the master, before any fork.
#include "config_sources.h"

#include <sys/stat.h>

#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "config.h"
#include "helper_process.h"

namespace appserver::server {

namespace {

constexpr auto kConfigTimeout = std::chrono::seconds(30);
constexpr size_t kMaxConfigOutput = 1 << 20;

bool isFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::vector<std::string> splitShellWords(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < text.size()) {
        word.push_back(text[++i]);
      } else {
        word.push_back(c);
      }
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
    } else {
      in_word = true;
      if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '\\' && i + 1 < text.size()) {
        word.push_back(text[++i]);
      } else {
        word.push_back(c);
      }
    }
  }
  if (quote != 0) {
    throw ConfigError(std::string("unterminated ") + quote + " quote");
  }
  if (in_word) {
    words.push_back(std::move(word));
  }
  return words;
}

std::string findConfigFile(const std::vector<ArgumentSource>& sources) {
  std::string found;
  for (const ArgumentSource& source : sources) {
    const std::vector<std::string>& a = source.args;
    for (size_t i = 0; i < a.size(); ++i) {
      if ((a[i] == "-c" || a[i] == "--config") && i + 1 < a.size()) {
        found = a[++i];
      } else if (a[i].starts_with("--config=")) {
        found = a[i].substr(9);
      } else if (a[i].starts_with("-c") && a[i].size() > 2 && a[i][2] != '-') {
        found = a[i].substr(2);
      }
    }
  }
  if (found.empty() && isFile("gunicorn.conf.py")) {
    return "gunicorn.conf.py";  // Gunicorn's default, read from the working directory
  }
  return found;
}

// The environment of a helper that imports from the app's world.
std::vector<std::string> helperEnvironment(const std::vector<std::string>& python_path) {
  std::string path;
  for (const std::string& dir : python_path) {
    path += dir + ":";
  }
  path += std::string(".:") + APPSERVER_PYTHON_DIR;
  std::vector<std::string> env = {"PYTHONPATH=" + path, "PYTHONDONTWRITEBYTECODE=1"};
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with("PYTHONPATH=")) {
      env.emplace_back(*e);  // the app sees what -e and the caller set
    }
  }
  return env;
}

ConfigFileResult readConfigFile(const std::string& path) {
  if (!isFile(path)) {
    throw ConfigError("configuration file " + path + " does not exist");
  }
  const HelperProcessResult run =
      runHelperProcess({APPSERVER_PYTHON, "-m", "appserver.gunicorn_config", path},
                       helperEnvironment({}), kConfigTimeout, kMaxConfigOutput);
  if (run.end != HelperProcessResult::End::Exited || run.status != 0) {
    throw ConfigError("cannot read " + path + ": " + lastLines(run.err, 3));
  }
  try {
    const auto doc = nlohmann::json::parse(run.out);
    return {doc.at("args").get<std::vector<std::string>>(),
            doc.at("unsupported").get<std::vector<std::string>>()};
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError("cannot read " + path + ": unexpected helper output (" + e.what() + ")");
  }
}

void checkAppImports(const Config& config) {
  const HelperProcessResult run =
      runHelperProcess({APPSERVER_PYTHON, "-m", "appserver.check_app", config.app},
                       helperEnvironment(config.python_path), kConfigTimeout, kMaxConfigOutput);
  if (run.end != HelperProcessResult::End::Exited || run.status != 0) {
    throw ConfigError("cannot import " + config.app + ": " + lastLines(run.err, 3));
  }
}

}  // namespace appserver::server
