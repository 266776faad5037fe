// tls_stream.h: TLS for one connection, on OpenSSL memory BIOs driven by the worker's loop.
//
// OpenSSL never sees the socket, so nothing of it can block. The connection goes on reading
// its socket with libuv and hands each read to receive(): the ciphertext goes into the
// SSL's read BIO, the handshake advances, and the plaintext goes back to the connection's
// Reader in the same buffer, as if the socket had read it. write() and shutdown() stand in
// for uv_write() and uv_shutdown(): the plaintext is encrypted in batches of at most
// kBatchBytes, each batch goes out with one uv_write from this stream's own buffer, and the
// next batch is encrypted only when the last one is written. A large response is never
// encrypted whole in memory, and the loop never spends long on one connection.
//
// The first byte a client sends must start a TLS handshake record. Anything else is taken
// for plaintext HTTP: the Reader hears kPlainHttp, and from then on writes pass through
// unencrypted, so the connection can answer 400 in plaintext before it closes (as nginx).
// Thread: the worker's loop thread.
#pragma once

#include <uv.h>

#include <array>
#include <string>
#include <string_view>

struct ssl_st;  // OpenSSL's SSL, kept out of the headers of server/
struct bio_st;  // OpenSSL's BIO

namespace appserver::server {

class TlsContext;

class TlsStream {
 public:
  // What the connection above the stream provides.
  class Reader {
   public:
    // Whether the reader takes input now: plaintext is decrypted only while it does.
    virtual bool tlsReading() const = 0;
    // Plaintext (nread > 0 bytes at buf->base), the end of the input (UV_EOF: the client's
    // close_notify, or its FIN), or a failure: kPlainHttp, or UV_EPROTO for a handshake or
    // record that failed (logged at debug level). buf is null when nread < 0.
    virtual void tlsRead(ssize_t nread, const uv_buf_t* buf) = 0;

   protected:
    ~Reader() = default;
  };
  // The client's first byte cannot start a TLS record: it speaks plaintext (HTTP).
  static constexpr ssize_t kPlainHttp = UV_EPROTONOSUPPORT;
  // Plaintext bytes encrypted per uv_write at most.
  static constexpr size_t kBatchBytes = 64 * 1024;

  // stream: the connection's socket, which outlives this stream. peer: names the client in
  // debug logs; it must outlive the stream too.
  TlsStream(const TlsContext& context, uv_stream_t* stream, Reader& reader,
            std::string_view peer);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // One read of the socket, with uv_read_cb's arguments (buf->len is the buffer's size).
  // Decrypts into buf while the reader reads; the rest waits for resume().
  void receive(ssize_t nread, const uv_buf_t* buf);
  // The reader reads again: input that arrived while it did not is decrypted into buffer
  // and delivered now, before this returns.
  void resume(uv_buf_t buffer);
  // uv_write()'s contract: bufs must stay valid until cb, which runs once, with a negative
  // status when the socket fails or closes first; at most kMaxWrites writes at a time.
  // Returns 0, or a libuv error code when the stream can take no more data (cb never runs).
  int write(uv_write_t* req, const uv_buf_t bufs[], unsigned nbufs, uv_write_cb cb);
  // uv_shutdown()'s contract: after the writes before it, close_notify, then the FIN.
  int shutdown(uv_shutdown_t* req, uv_shutdown_cb cb);

 private:
  friend struct TlsStreamCallbacks;
  static constexpr size_t kMaxWrites = 4;
  static constexpr size_t kMaxBufs = 4;
  enum class Mode {
    Tls,     // handshaking or established
    Plain,   // the client spoke plaintext: bytes pass through both ways
    Failed,  // a fatal TLS error: nothing more is decrypted or encrypted
  };
  // A write of the connection's, encrypted bit by bit: bufs[index] from offset on is left.
  struct PendingWrite {
    uv_write_t* req = nullptr;
    uv_write_cb cb = nullptr;
    std::array<uv_buf_t, kMaxBufs> bufs{};
    unsigned nbufs = 0;
    unsigned index = 0;
    size_t offset = 0;
  };

  // The connection closed its socket: nothing more goes in or out.
  bool closing() const;
  void decrypt(uv_buf_t buffer);
  void fail();
  // With no uv_write in flight: encrypts the next batch, writes it with what else the SSL
  // produced (handshake, alerts, tickets), and starts the shutdown when it is due.
  void pump();
  // Encrypts pending writes, front first, up to kBatchBytes. Returns false on an SSL error.
  bool encryptBatch();
  void handleWriteDone(int status);

  ssl_st* ssl_;
  bio_st* read_bio_;   // ciphertext from the client, owned by ssl_
  bio_st* write_bio_;  // ciphertext for the client, owned by ssl_
  uv_stream_t* stream_;
  Reader& reader_;
  std::string_view peer_;
  Mode mode_ = Mode::Tls;
  bool first_read_ = true;
  uv_write_t write_req_{};
  bool writing_ = false;
  std::string sending_;  // the ciphertext of the uv_write in flight
  std::array<PendingWrite, kMaxWrites> pending_{};
  size_t pending_count_ = 0;
  size_t sealed_ = 0;  // pending writes encrypted whole into the batch in flight
  uv_shutdown_t* shutdown_req_ = nullptr;
  uv_shutdown_cb shutdown_cb_ = nullptr;
  bool close_notify_queued_ = false;
  bool shutdown_started_ = false;
};

}  // namespace appserver::server
