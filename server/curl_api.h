// curl_api.h: libcurl, loaded when --jwt-jwks-url first needs it.
//
// The binary does not link libcurl. Linked, libcurl and what it links (GnuTLS, Kerberos,
// LDAP, libssh2, ...) are in every process's global symbol scope, and the dynamic loader
// reads their symbol tables each time the app imports an extension module: about 1.3 MiB
// of each worker's RSS, for a fetch only the master makes. Loaded with dlopen(RTLD_LOCAL)
// by the master that needs it, they stay out of that scope.
// Thread: the master's only thread (jwks_fetcher.h), and appserver-jwt's.
#pragma once

#include <curl/curl.h>

namespace appserver::server {

// The libcurl functions jwks_fetcher.cc calls, by their names without "curl_". A call
// through easy_setopt is not type-checked as curl.h's macro of that name checks it.
struct CurlApi {
  decltype(&curl_global_init) global_init;
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_perform) easy_perform;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
  decltype(&curl_url) url;
  decltype(&curl_url_set) url_set;
  decltype(&curl_url_get) url_get;
  decltype(&curl_url_cleanup) url_cleanup;
  decltype(&curl_free) free;

  // Loads libcurl.so.4 and runs curl_global_init() on the first call; never unloads it.
  // Throws ConfigError when it cannot (libcurl4 not installed).
  static const CurlApi& get();
};

}  // namespace appserver::server
