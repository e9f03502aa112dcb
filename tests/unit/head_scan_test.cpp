#include "http/head_scan.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::http {
namespace {

using State = HeadScanner::State;

State scan_all(std::string_view head) {
  HeadScanner s;
  return s.scan(head);
}

TEST(HeadScanner, AcceptsAWellFormedHeadAndStopsAtItsEnd) {
  std::string head =
      "POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-A:\tv  w\r\n\r\n";
  std::string with_body = head + "{}";
  HeadScanner s;
  EXPECT_EQ(s.scan(with_body), State::kDone);
  EXPECT_EQ(s.head_size(), head.size());
}

TEST(HeadScanner, ScansIncrementallyAcrossReads) {
  std::string head = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
  HeadScanner s;
  for (std::size_t n = 1; n < head.size(); ++n)
    ASSERT_EQ(s.scan(std::string_view(head).substr(0, n)), State::kNeedMore) << n;
  EXPECT_EQ(s.scan(head), State::kDone);
  EXPECT_EQ(s.head_size(), head.size());
}

TEST(HeadScanner, RefusesEachSmugglingShape) {
  struct Case {
    std::string head;
    std::string_view problem;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", "obsolete line folding"},
      {"GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n", "obsolete line folding"},
      {"GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", "bare CR in the request head"},
      {"GET / HTTP/1.1\r\nX-A: a\nX-B: b\r\n\r\n", "bare LF in the request head"},
      {"GET / HTTP/1.1\nHost: x\n\n", "bare LF in the request head"},
      {std::string("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 27), "NUL in the request head"},
      {"GET / HTTP/1.1\r\nX-A: a\x01"
       "b\r\n\r\n",
       "control character in the request head"},
      {"GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n", "whitespace in a header name"},
      {"GET / HTTP/1.1\r\nContent-Length\t: 5\r\n\r\n", "whitespace in a header name"},
      {" GET / HTTP/1.1\r\n\r\n", "whitespace before the request line"},
  };
  for (const auto& c : cases) {
    HeadScanner s;
    EXPECT_EQ(s.scan(c.head), State::kBad) << c.head;
    EXPECT_EQ(s.problem(), c.problem) << c.head;
  }
}

TEST(HeadScanner, ColonsAndSpacesInValuesAreFine) {
  EXPECT_EQ(scan_all("GET / HTTP/1.1\r\nX-A: a : b\r\nX-B: http://x:1/\r\n\r\n"), State::kDone);
}

TEST(CheckFraming, AcceptsOneLengthOrChunked) {
  EXPECT_EQ(check_framing({{"content-length", "12"}}), "");
  EXPECT_EQ(check_framing({{"transfer-encoding", "chunked"}}), "");
  EXPECT_EQ(check_framing({{"transfer-encoding", "Chunked"}}), "");
  EXPECT_EQ(check_framing({}), "");
}

TEST(CheckFraming, RefusesAmbiguousFraming) {
  EXPECT_NE(check_framing({{"content-length", "5"}, {"transfer-encoding", "chunked"}}), "");
  EXPECT_NE(check_framing({{"transfer-encoding", "chunked"}, {"content-length", "5"}}), "");
  EXPECT_NE(check_framing({{"content-length", "5"}, {"content-length", "6"}}), "");
  EXPECT_NE(check_framing({{"content-length", "5"}, {"content-length", "5"}}), "");
  EXPECT_NE(check_framing({{"content-length", "5, 5"}}), "");
  EXPECT_NE(check_framing({{"content-length", "+5"}}), "");
  EXPECT_NE(check_framing({{"transfer-encoding", "gzip"}}), "");
  EXPECT_NE(check_framing({{"transfer-encoding", "gzip, chunked"}}), "");
  EXPECT_NE(check_framing({{"transfer-encoding", "chunked, chunked"}}), "");
  EXPECT_NE(check_framing({{"transfer-encoding", "chunked"}, {"transfer-encoding", "chunked"}}),
            "");
}

}  // namespace
}  // namespace relay::http
