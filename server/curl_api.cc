// curl_api.cc: libcurl.so.4 opened with dlopen and its functions looked up.
//
// Thread: see curl_api.h.
#include "curl_api.h"

#include <dlfcn.h>

#include <string>

#include "config.h"

namespace appserver::server {

namespace {

constexpr const char* kLibrary = "libcurl.so.4";  // Debian's libcurl4 (OpenSSL flavour)

// Stores the address of `name` in `function`, or throws.
template <typename Function>
void lookUp(void* library, const char* name, Function& function) {
  void* address = ::dlsym(library, name);
  if (address == nullptr) {
    throw ConfigError(std::string("--jwt-jwks-url: ") + kLibrary + " has no " + name);
  }
  function = reinterpret_cast<Function>(address);
}

CurlApi load() {
  void* library = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = ::dlerror();
    throw ConfigError(std::string("--jwt-jwks-url needs libcurl (Debian: libcurl4): ") +
                      (why != nullptr ? why : kLibrary));
  }
  CurlApi api{};
  lookUp(library, "curl_global_init", api.global_init);
  lookUp(library, "curl_easy_init", api.easy_init);
  lookUp(library, "curl_easy_setopt", api.easy_setopt);
  lookUp(library, "curl_easy_perform", api.easy_perform);
  lookUp(library, "curl_easy_getinfo", api.easy_getinfo);
  lookUp(library, "curl_easy_cleanup", api.easy_cleanup);
  lookUp(library, "curl_easy_strerror", api.easy_strerror);
  lookUp(library, "curl_slist_append", api.slist_append);
  lookUp(library, "curl_slist_free_all", api.slist_free_all);
  lookUp(library, "curl_url", api.url);
  lookUp(library, "curl_url_set", api.url_set);
  lookUp(library, "curl_url_get", api.url_get);
  lookUp(library, "curl_url_cleanup", api.url_cleanup);
  lookUp(library, "curl_free", api.free);
  if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    throw ConfigError("--jwt-jwks-url: libcurl cannot be initialised");
  }
  return api;
}

}  // namespace

const CurlApi& CurlApi::get() {
  static const CurlApi api = load();  // a throw leaves it unset: the next call tries again
  return api;
}

}  // namespace appserver::server
