// tls_stream.cc: the handshake, decryption into the reader's buffer, batched encryption.
//
// Thread: the worker's loop thread.
#include "tls_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>

#include "check.h"
#include "log.h"
#include "tls_context.h"

namespace appserver::server {

namespace {

constexpr unsigned char kHandshakeRecord = 0x16;  // the content type of a TLS handshake record

// The reason of OpenSSL's latest error on this thread; the error queue is cleared.
const char* takeErrorReason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "connection failed";
}

}  // namespace

// The C trampoline libuv calls; it forwards to the stream's handle<Event>.
struct TlsStreamCallbacks {
  static void onWriteDone(uv_write_t* req, int status) {
    static_cast<TlsStream*>(req->data)->handleWriteDone(status);
  }
};

TlsStream::TlsStream(const TlsContext& context, uv_stream_t* stream, Reader& reader,
                     std::string_view peer)
    : ssl_(SSL_new(context.get())),
      read_bio_(BIO_new(BIO_s_mem())),
      write_bio_(BIO_new(BIO_s_mem())),
      stream_(stream),
      reader_(reader),
      peer_(peer) {
  APPSERVER_CHECK(ssl_ != nullptr && read_bio_ != nullptr && write_bio_ != nullptr);  // OOM
  BIO_set_mem_eof_return(read_bio_, -1);  // empty means "more to come", not the end
  SSL_set_bio(ssl_, read_bio_, write_bio_);
  SSL_set_accept_state(ssl_);
  write_req_.data = this;
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

void TlsStream::receive(ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0 || mode_ == Mode::Plain) {
    reader_.tlsRead(nread, nread < 0 ? nullptr : buf);  // the client's FIN ends TLS too
    return;
  }
  if (nread == 0 || mode_ == Mode::Failed) {
    return;
  }
  if (first_read_) {
    first_read_ = false;
    if (static_cast<unsigned char>(buf->base[0]) != kHandshakeRecord) {
      mode_ = Mode::Plain;
      reader_.tlsRead(kPlainHttp, nullptr);
      return;
    }
  }
  // A memory BIO takes everything (it grows); the reader's buffer is free again after.
  APPSERVER_CHECK(BIO_write(read_bio_, buf->base, static_cast<int>(nread)) == nread);
  decrypt(uv_buf_init(buf->base, buf->len));
}

void TlsStream::resume(uv_buf_t buffer) {
  if (mode_ == Mode::Tls && (BIO_ctrl_pending(read_bio_) > 0 || SSL_has_pending(ssl_) == 1)) {
    decrypt(buffer);
  }
}

bool TlsStream::closing() const {
  return uv_is_closing(reinterpret_cast<const uv_handle_t*>(stream_)) != 0;
}

void TlsStream::decrypt(uv_buf_t buffer) {
  while (mode_ == Mode::Tls && reader_.tlsReading() && !closing()) {
    size_t filled = 0;
    int error = SSL_ERROR_NONE;
    ERR_clear_error();
    while (filled < buffer.len) {
      const int n = SSL_read(ssl_, buffer.base + filled, static_cast<int>(buffer.len - filled));
      if (n <= 0) {
        error = SSL_get_error(ssl_, n);
        break;
      }
      filled += static_cast<size_t>(n);
    }
    pump();  // the handshake's answers, session tickets, alerts
    if (filled > 0) {
      reader_.tlsRead(static_cast<ssize_t>(filled), &buffer);
      continue;  // the BIO may hold more than the buffer took, or the error comes next
    }
    switch (error) {
      case SSL_ERROR_WANT_READ:
        return;
      case SSL_ERROR_ZERO_RETURN:  // close_notify
        reader_.tlsRead(UV_EOF, nullptr);
        return;
      default:
        fail();
        return;
    }
  }
}

void TlsStream::fail() {
  logAt(LogLevel::Debug, "TLS {} with {} failed: {}",
        SSL_is_init_finished(ssl_) == 1 ? "connection" : "handshake", peer_, takeErrorReason());
  mode_ = Mode::Failed;
  pump();  // the alert OpenSSL wrote, if any
  reader_.tlsRead(UV_EPROTO, nullptr);
}

int TlsStream::write(uv_write_t* req, const uv_buf_t bufs[], unsigned nbufs, uv_write_cb cb) {
  if (mode_ == Mode::Plain) {
    return uv_write(req, stream_, bufs, nbufs, cb);
  }
  if (mode_ == Mode::Failed || shutdown_req_ != nullptr || closing()) {
    return UV_EPIPE;
  }
  APPSERVER_CHECK(pending_count_ < kMaxWrites && nbufs > 0 && nbufs <= kMaxBufs);
  PendingWrite& w = pending_[pending_count_++];
  w = PendingWrite{.req = req, .cb = cb, .nbufs = nbufs};
  std::copy(bufs, bufs + nbufs, w.bufs.begin());
  pump();
  return 0;
}

int TlsStream::shutdown(uv_shutdown_t* req, uv_shutdown_cb cb) {
  if (mode_ == Mode::Plain) {
    return uv_shutdown(req, stream_, cb);
  }
  if (shutdown_req_ != nullptr) {
    return UV_EALREADY;
  }
  shutdown_req_ = req;
  shutdown_cb_ = cb;
  pump();
  return 0;
}

bool TlsStream::encryptBatch() {
  size_t budget = kBatchBytes;
  for (size_t i = sealed_; i < pending_count_ && budget > 0; ++i) {
    PendingWrite& w = pending_[i];
    while (w.index < w.nbufs && budget > 0) {
      const uv_buf_t& b = w.bufs[w.index];
      const size_t n = std::min(b.len - w.offset, budget);
      if (n > 0) {
        const int written = SSL_write(ssl_, b.base + w.offset, static_cast<int>(n));
        if (written <= 0) {
          return false;  // a memory BIO never asks to retry: this is fatal
        }
        w.offset += static_cast<size_t>(written);
        budget -= static_cast<size_t>(written);
      }
      if (w.offset == b.len) {
        ++w.index;
        w.offset = 0;
      }
    }
    if (w.index < w.nbufs) {
      break;
    }
    sealed_ = i + 1;
  }
  return true;
}

void TlsStream::pump() {
  if (writing_ || closing()) {
    return;
  }
  ERR_clear_error();
  if (mode_ == Mode::Tls && !encryptBatch()) {
    fail();
    return;
  }
  const bool all_sealed = sealed_ == pending_count_;
  if (shutdown_req_ != nullptr && all_sealed && !close_notify_queued_) {
    close_notify_queued_ = true;
    if (mode_ == Mode::Tls && SSL_is_init_finished(ssl_) == 1) {
      SSL_shutdown(ssl_);  // writes close_notify; the client's answer is not waited for
      ERR_clear_error();
    }
  }
  const size_t ready = BIO_ctrl_pending(write_bio_);
  if (ready > 0) {
    sending_.resize(ready);
    APPSERVER_CHECK(BIO_read(write_bio_, sending_.data(), static_cast<int>(ready)) ==
                    static_cast<int>(ready));
    const uv_buf_t buf = uv_buf_init(sending_.data(), static_cast<unsigned>(ready));
    writing_ = true;
    if (const int rc = uv_write(&write_req_, stream_, &buf, 1, TlsStreamCallbacks::onWriteDone);
        rc != 0) {
      handleWriteDone(rc);
      return;
    }
  }
  if (close_notify_queued_ && !shutdown_started_) {
    shutdown_started_ = true;  // libuv sends the FIN after the write just queued
    if (const int rc = uv_shutdown(shutdown_req_, stream_, shutdown_cb_); rc != 0) {
      shutdown_cb_(shutdown_req_, rc);
    }
  }
}

void TlsStream::handleWriteDone(int status) {
  writing_ = false;
  // Done: the writes sealed into the batch; and when the socket failed or is closing, every
  // other one too, since it can never go out.
  const size_t sealed = sealed_;
  const bool lost = status != 0 || closing();
  const size_t done = lost ? pending_count_ : sealed;
  std::array<PendingWrite, kMaxWrites> finished;
  std::copy(pending_.begin(), pending_.begin() + done, finished.begin());
  std::copy(pending_.begin() + done, pending_.begin() + pending_count_, pending_.begin());
  pending_count_ -= done;
  sealed_ = 0;
  if (lost && mode_ == Mode::Tls) {
    mode_ = Mode::Failed;
  }
  for (size_t i = 0; i < done; ++i) {
    const int result = status != 0 ? status : i < sealed ? 0 : UV_ECANCELED;
    finished[i].cb(finished[i].req, result);  // may write again, or close the connection
  }
  pump();
}

}  // namespace appserver::server
