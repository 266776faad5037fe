// tls_stream_test.cc: TlsStream between a real libuv pipe and a client SSL on memory BIOs.
//
// The server side is a uv_pipe_t over one end of a socketpair, read by a test Reader that
// hands every read to the stream, as Connection does. The client is an OpenSSL client
// whose bytes the test moves to and from the other end, running the loop in between.
// Thread: the test's main thread.
#include "tls_stream.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config.h"
#include "tls_context.h"
#include "tls_test_certs.h"

namespace appserver::server {
namespace {

class TlsStreamTest : public testing::Test, public TlsStream::Reader {
 protected:
  void SetUp() override {
    TlsConfig config;
    config.certfile = files_.cert();
    config.keyfile = files_.key();
    context_ = TlsContext::createIfConfigured(config);
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    ASSERT_EQ(::fcntl(fds_[1], F_SETFL, O_NONBLOCK), 0);
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    uv_pipe_init(&loop_, &pipe_, 0);
    ASSERT_EQ(uv_pipe_open(&pipe_, fds_[0]), 0);
    pipe_.data = this;
    stream_ = std::make_unique<TlsStream>(*context_, stream(), *this, "test-peer");
    startReading();
    client_ctx_ = SSL_CTX_new(TLS_client_method());
    client_ = SSL_new(client_ctx_);
    client_in_ = BIO_new(BIO_s_mem());
    client_out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(client_in_, -1);
    SSL_set_bio(client_, client_in_, client_out_);
    SSL_set_connect_state(client_);
  }

  void TearDown() override {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&pipe_)) == 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    stream_.reset();
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    ::close(fds_[1]);
    SSL_free(client_);
    SSL_CTX_free(client_ctx_);
  }

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&pipe_); }

  void startReading() {
    reading_ = true;
    uv_read_start(
        stream(),
        [](uv_handle_t* handle, size_t, uv_buf_t* buf) {
          auto* self = static_cast<TlsStreamTest*>(handle->data);
          size_t size = self->buffer_.size();
          if (!self->read_sizes_.empty()) {
            size = self->read_sizes_.front();
            self->read_sizes_.erase(self->read_sizes_.begin());
          }
          *buf = uv_buf_init(self->buffer_.data(), size);
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
          static_cast<TlsStreamTest*>(s->data)->stream_->receive(nread, buf);
        });
  }

  // TlsStream::Reader
  bool tlsReading() const override { return reading_; }
  void tlsRead(ssize_t nread, const uv_buf_t* buf) override {
    if (nread < 0) {
      events_.push_back(nread);
      return;
    }
    received_.append(buf->base, static_cast<size_t>(nread));
    ++deliveries_;
    if (stop_after_delivery_) {
      reading_ = false;
      uv_read_stop(stream());
    }
  }

  // Moves bytes both ways and runs the loop until nothing moves for a few rounds.
  void exchange() {
    for (int idle = 0; idle < 3;) {
      bool moved = false;
      char chunk[65536];
      while (const size_t pending = BIO_ctrl_pending(client_out_)) {
        const int n = BIO_read(client_out_, chunk, static_cast<int>(std::min(pending, sizeof(chunk))));
        ASSERT_EQ(::write(fds_[1], chunk, static_cast<size_t>(n)), n);
        moved = true;
      }
      uv_run(&loop_, UV_RUN_NOWAIT);
      ssize_t n;
      while ((n = ::read(fds_[1], chunk, sizeof(chunk))) > 0) {
        raw_from_server_.append(chunk, static_cast<size_t>(n));
        BIO_write(client_in_, chunk, static_cast<int>(n));
        moved = true;
      }
      if (n == 0) {
        server_fin_ = true;
      }
      SSL_do_handshake(client_);  // advances the handshake, if it is not done
      ERR_clear_error();
      idle = moved ? 0 : idle + 1;
    }
  }

  // Everything the client can read now.
  std::string clientReads() {
    std::string out;
    char chunk[16384];
    int n;
    while ((n = SSL_read(client_, chunk, sizeof(chunk))) > 0) {
      out.append(chunk, static_cast<size_t>(n));
    }
    ERR_clear_error();
    return out;
  }

  void handshake() {
    exchange();
    ASSERT_EQ(SSL_is_init_finished(client_), 1);
  }

  TlsFiles files_;
  std::unique_ptr<TlsContext> context_;
  int fds_[2] = {-1, -1};
  uv_loop_t loop_{};
  uv_pipe_t pipe_{};
  std::unique_ptr<TlsStream> stream_;
  std::vector<char> buffer_ = std::vector<char>(65536);
  std::vector<size_t> read_sizes_;  // sizes of the next reads' buffers (then buffer_'s)
  bool reading_ = false;
  bool stop_after_delivery_ = false;
  std::string received_;
  int deliveries_ = 0;
  std::vector<ssize_t> events_;
  SSL_CTX* client_ctx_ = nullptr;
  SSL* client_ = nullptr;
  BIO* client_in_ = nullptr;
  BIO* client_out_ = nullptr;
  std::string raw_from_server_;
  bool server_fin_ = false;
};

struct WriteCount {
  int calls = 0;
  int status = 1;
};

void countWrite(uv_write_t* req, int status) {
  auto* count = static_cast<WriteCount*>(req->data);
  ++count->calls;
  count->status = status;
}

TEST_F(TlsStreamTest, DeliversTheClientsPlaintextAfterTheHandshake) {
  handshake();
  ASSERT_EQ(SSL_write(client_, "GET / HTTP/1.1\r\n\r\n", 18), 18);
  exchange();
  EXPECT_EQ(received_, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(events_.empty());
}

TEST_F(TlsStreamTest, EncryptsALargeWriteInBatchesAndCompletesItOnce) {
  handshake();
  std::string body(3 * TlsStream::kBatchBytes + 12345, '\0');
  for (size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>(i * 7);
  }
  const std::string head = "HTTP/1.1 200 OK\r\n\r\n";
  uv_buf_t bufs[] = {uv_buf_init(const_cast<char*>(head.data()), head.size()),
                     uv_buf_init(body.data(), body.size())};
  uv_write_t req;
  WriteCount count;
  req.data = &count;
  ASSERT_EQ(stream_->write(&req, bufs, 2, countWrite), 0);
  // One batch goes out at once; the next is encrypted when the loop says it is written.
  char first[4 * 65536];
  const ssize_t n = ::read(fds_[1], first, sizeof(first));
  ASSERT_GT(n, 0);
  EXPECT_LE(static_cast<size_t>(n), TlsStream::kBatchBytes + 1024);
  BIO_write(client_in_, first, static_cast<int>(n));
  EXPECT_EQ(count.calls, 0);
  std::string got;
  for (int i = 0; i < 50 && got.size() < head.size() + body.size(); ++i) {
    exchange();
    got += clientReads();
  }
  EXPECT_EQ(got, head + body);
  EXPECT_EQ(count.calls, 1);
  EXPECT_EQ(count.status, 0);
}

TEST_F(TlsStreamTest, ReportsPlaintextHttpAndThenWritesPlaintext) {
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::write(fds_[1], request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  uv_run(&loop_, UV_RUN_NOWAIT);
  ASSERT_EQ(events_, std::vector<ssize_t>{TlsStream::kPlainHttp});
  const std::string answer = "HTTP/1.1 400 Bad Request\r\n\r\n";
  uv_buf_t buf = uv_buf_init(const_cast<char*>(answer.data()), answer.size());
  uv_write_t req;
  WriteCount count;
  req.data = &count;
  ASSERT_EQ(stream_->write(&req, &buf, 1, countWrite), 0);
  exchange();
  EXPECT_EQ(raw_from_server_, answer);
  EXPECT_EQ(count.calls, 1);
}

TEST_F(TlsStreamTest, FailsAGarbageHandshakeWithEproto) {
  const std::string garbage = std::string("\x16\x03\x01\x00\x08", 5) + "garbage!";
  ASSERT_EQ(::write(fds_[1], garbage.data(), garbage.size()),
            static_cast<ssize_t>(garbage.size()));
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(events_, std::vector<ssize_t>{UV_EPROTO});
  EXPECT_TRUE(received_.empty());
  uv_write_t req;
  uv_buf_t buf = uv_buf_init(const_cast<char*>("x"), 1);
  EXPECT_NE(stream_->write(&req, &buf, 1, countWrite), 0);  // nothing more goes out
}

TEST_F(TlsStreamTest, HoldsInputWhileTheReaderPausesAndDeliversItOnResume) {
  handshake();
  // Three full TLS 1.3 records of 16406 bytes. The first read stops one byte short of the
  // first record's end; the second completes the second record, whose plaintext (32768
  // bytes) is more than that read's buffer holds: the reader gets one buffer, pauses, and
  // the rest waits inside the SSL.
  constexpr size_t kRecord = 16384;
  read_sizes_ = {16405, 16407};
  stop_after_delivery_ = true;
  std::string sent(3 * kRecord, '\0');
  for (size_t i = 0; i < sent.size(); ++i) {
    sent[i] = static_cast<char>(i % 251);
  }
  ASSERT_EQ(SSL_write(client_, sent.data(), static_cast<int>(sent.size())),
            static_cast<int>(sent.size()));
  exchange();
  ASSERT_EQ(deliveries_, 1);
  ASSERT_EQ(received_.size(), 16407u);
  stop_after_delivery_ = false;
  startReading();
  stream_->resume(uv_buf_init(buffer_.data(), buffer_.size()));
  EXPECT_EQ(received_.size(), 2 * kRecord);  // before any further read of the socket
  exchange();
  EXPECT_TRUE(received_ == sent);
}

TEST_F(TlsStreamTest, ShutdownSendsCloseNotifyAfterTheWritesThenTheFin) {
  handshake();
  const std::string answer = "last response";
  uv_buf_t buf = uv_buf_init(const_cast<char*>(answer.data()), answer.size());
  uv_write_t req;
  WriteCount count;
  req.data = &count;
  uv_shutdown_t shutdown;
  ASSERT_EQ(stream_->write(&req, &buf, 1, countWrite), 0);
  ASSERT_EQ(stream_->shutdown(&shutdown, [](uv_shutdown_t*, int) {}), 0);
  exchange();
  EXPECT_EQ(clientReads(), answer);
  EXPECT_EQ(SSL_get_shutdown(client_) & SSL_RECEIVED_SHUTDOWN, SSL_RECEIVED_SHUTDOWN);
  EXPECT_TRUE(server_fin_);
  EXPECT_EQ(count.calls, 1);
}

TEST_F(TlsStreamTest, TheClientsCloseNotifyEndsTheInput) {
  handshake();
  SSL_shutdown(client_);
  exchange();
  EXPECT_EQ(events_, std::vector<ssize_t>{UV_EOF});
}

TEST_F(TlsStreamTest, ClosingTheSocketFailsEveryPendingWriteOnce) {
  handshake();
  std::string body(4 * TlsStream::kBatchBytes, 'b');
  uv_buf_t buf = uv_buf_init(body.data(), body.size());
  uv_write_t first, second;
  WriteCount first_count, second_count;
  first.data = &first_count;
  second.data = &second_count;
  ASSERT_EQ(stream_->write(&first, &buf, 1, countWrite), 0);
  ASSERT_EQ(stream_->write(&second, &buf, 1, countWrite), 0);
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(first_count.calls, 1);
  EXPECT_EQ(second_count.calls, 1);
  EXPECT_EQ(first_count.status, UV_ECANCELED);
  EXPECT_EQ(second_count.status, UV_ECANCELED);
}

}  // namespace
}  // namespace appserver::server
