// Tests for the gzip (ISA-L) and zstd codecs, and for format auto-detection.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <tuple>

#include "ffi/compress.hpp"
#include "ffi/codec_test_util.hpp"
#include "support/testdata.hpp"

namespace de::ffi {
namespace {

using test::compress_string;
using test::compressible_bytes;
using test::decompress_string;
using test::random_bytes;
using test::run_command;

std::string shell_quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

bool have_tool(const std::string& name) {
  return run_command("command -v " + name + " >/dev/null").status == 0;
}

#define REQUIRE_TOOL(name) \
  if (!have_tool(name)) GTEST_SKIP() << name << " is not installed"

// ---- round trips over sizes and kinds of data ----------------------------------------------

enum class Kind { Random, Compressible };

std::string round_trip_name(
    const ::testing::TestParamInfo<std::tuple<Compression, Kind, size_t>>& param_info) {
  auto [codec, kind, size] = param_info.param;
  return std::string(to_string(codec)) + (kind == Kind::Random ? "_random_" : "_text_") +
         std::to_string(size);
}

std::string codec_name(const ::testing::TestParamInfo<Compression>& param_info) {
  return std::string(to_string(param_info.param));
}

class RoundTrip : public ::testing::TestWithParam<std::tuple<Compression, Kind, size_t>> {};

TEST_P(RoundTrip, DecompressesToTheInput) {
  auto [codec, kind, size] = GetParam();
  std::string data = kind == Kind::Random ? random_bytes(size, size) : compressible_bytes(size, size);
  auto packed = compress_string(codec, data);
  ASSERT_TRUE(packed) << packed.error().to_string();
  if (codec != Compression::None && kind == Kind::Compressible && size >= 65536) {
    EXPECT_LT(packed->size(), data.size() / 2);
  }
  auto unpacked = decompress_string(codec, *packed);
  ASSERT_TRUE(unpacked) << unpacked.error().to_string();
  EXPECT_EQ(unpacked->size(), data.size());
  EXPECT_TRUE(*unpacked == data);
  // Again with input arriving a few bytes per read.
  if (size <= (1 << 20)) {
    auto trickled = decompress_string(codec, *packed, 5);
    ASSERT_TRUE(trickled) << trickled.error().to_string();
    EXPECT_TRUE(*trickled == data);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Codecs, RoundTrip,
    ::testing::Combine(::testing::Values(Compression::Gzip, Compression::Zstd, Compression::None),
                       ::testing::Values(Kind::Random, Kind::Compressible),
                       ::testing::Values(size_t{0}, size_t{1}, size_t{1000}, size_t{65536 + 13},
                                         size_t{(1 << 20) + 1}, size_t{(6 << 20) + 333})),
    round_trip_name);

TEST(Gzip, EveryLevelRoundTrips) {
  std::string data = compressible_bytes(3 << 20, 7);
  size_t previous = 0;
  for (int level = 0; level <= 3; ++level) {
    auto packed = compress_string(Compression::Gzip, data, {.level = level});
    ASSERT_TRUE(packed) << "level " << level << ": " << packed.error().to_string();
    auto unpacked = decompress_string(Compression::Gzip, *packed);
    ASSERT_TRUE(unpacked) << unpacked.error().to_string();
    EXPECT_TRUE(*unpacked == data) << "level " << level;
    if (level >= 1 && previous) {
      EXPECT_LE(packed->size(), previous * 101 / 100) << "level " << level;
    }
    previous = packed->size();
  }
}

TEST(Codecs, LevelsOutOfRangeAreRefused) {
  StringWriter out;
  auto gz = make_compressor(Compression::Gzip, out, {.level = 4});
  ASSERT_FALSE(gz);
  EXPECT_EQ(gz.error().code(), Code::InvalidArgument);
  auto zs = make_compressor(Compression::Zstd, out, {.level = 0});
  ASSERT_FALSE(zs);
  EXPECT_EQ(zs.error().code(), Code::InvalidArgument);
  auto zs19 = compress_string(Compression::Zstd, compressible_bytes(100000, 1), {.level = 19});
  ASSERT_TRUE(zs19) << zs19.error().to_string();
  EXPECT_TRUE(*decompress_string(Compression::Zstd, *zs19) == compressible_bytes(100000, 1));
}

TEST(Codecs, Bzip2IsUnsupported) {
  StringWriter out;
  auto w = make_compressor(Compression::Bzip2, out);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), Code::Unsupported);
  auto r = make_decompressor(Compression::Bzip2, std::make_unique<StringReader>("BZh91AY"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Unsupported);
  EXPECT_NE(r.error().message().find("bzip2"), std::string::npos);
}

// ---- determinism, close ------------------------------------------------------------------------

class EachCodec : public ::testing::TestWithParam<Compression> {};
INSTANTIATE_TEST_SUITE_P(Codecs, EachCodec,
                         ::testing::Values(Compression::Gzip, Compression::Zstd),
                         codec_name);

TEST_P(EachCodec, SameInputGivesSameBytesHoweverItIsWritten) {
  std::string data = compressible_bytes((5 << 20) + 77, 3) + random_bytes(300000, 4);
  StringWriter a, b, c;
  auto wa = make_compressor(GetParam(), a).value();
  ASSERT_TRUE(test::write_in_odd_chunks(*wa, data));
  ASSERT_TRUE(wa->close());
  auto wb = make_compressor(GetParam(), b).value();
  ASSERT_TRUE(wb->write(data));  // one big write
  ASSERT_TRUE(wb->close());
  auto wc = make_compressor(GetParam(), c).value();
  ASSERT_TRUE(test::write_in_odd_chunks(*wc, data, {100003, 17, 999}));
  ASSERT_TRUE(wc->close());
  EXPECT_TRUE(a.str() == b.str());
  EXPECT_TRUE(a.str() == c.str());
}

TEST_P(EachCodec, CloseFinishesTheStreamAndClosesNext) {
  test::ClosingStringWriter out;
  auto w = make_compressor(GetParam(), out).value();
  ASSERT_TRUE(w->write("hello"));
  EXPECT_EQ(out.closes(), 0);
  ASSERT_TRUE(w->close());
  EXPECT_EQ(out.closes(), 1);
  EXPECT_EQ(decompress_string(GetParam(), out.str()).value(), "hello");
}

TEST(Gzip, HeaderCarriesNoNameAndNoTime) {
  auto packed = compress_string(Compression::Gzip, "x").value();
  ASSERT_GE(packed.size(), 18u);
  EXPECT_EQ(packed.substr(0, 10), std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10));
}

TEST(Gzip, Level1IsWithinOnePercentOfIgzip) {
  REQUIRE_TOOL("igzip");
  auto dir = TempDir::create().value();
  std::string data = compressible_bytes(8 << 20, 11) + random_bytes(1 << 20, 12);
  ASSERT_TRUE(write_file_atomic(dir.path() / "in", data));
  auto theirs = run_command("igzip -1 -c < " + shell_quote(dir.path() / "in"));
  ASSERT_EQ(theirs.status, 0) << theirs.err;
  auto ours = compress_string(Compression::Gzip, data).value();
  double ratio = static_cast<double>(ours.size()) / static_cast<double>(theirs.out.size());
  EXPECT_NEAR(ratio, 1.0, 0.01) << "ours " << ours.size() << " igzip -1 " << theirs.out.size();
}

// ---- interop with the real tools ---------------------------------------------------------------

struct Tool {
  Compression codec;
  std::string name;
  std::string compress;    // reads stdin, writes stdout
  std::string decompress;  // ditto
};

const Tool kTools[] = {
    {Compression::Gzip, "gzip", "gzip -c", "gzip -dc"},
    {Compression::Gzip, "igzip", "igzip -1 -c", "igzip -d -c"},
    {Compression::Zstd, "zstd", "zstd -q -c", "zstd -q -dc"},
};

TEST(Interop, ToolsDecodeOurStreams) {
  auto dir = TempDir::create().value();
  std::string data = compressible_bytes((3 << 20) + 5, 21) + random_bytes(200000, 22);
  for (const Tool& tool : kTools) {
    if (!have_tool(tool.name)) continue;
    SCOPED_TRACE(tool.name);
    auto packed = compress_string(tool.codec, data).value();
    auto file = dir.path() / ("ours." + tool.name);
    ASSERT_TRUE(write_file_atomic(file, packed));
    auto r = run_command(tool.decompress + " < " + shell_quote(file));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(r.out == data) << "decoded " << r.out.size() << " bytes of " << data.size();
    // Empty input too.
    auto empty = compress_string(tool.codec, "").value();
    ASSERT_TRUE(write_file_atomic(file, empty));
    auto e = run_command(tool.decompress + " < " + shell_quote(file));
    EXPECT_EQ(e.status, 0) << e.err;
    EXPECT_EQ(e.out, "");
  }
}

TEST(Interop, WeDecodeToolStreams) {
  auto dir = TempDir::create().value();
  std::string data = compressible_bytes((2 << 20) + 9, 31) + random_bytes(100000, 32);
  ASSERT_TRUE(write_file_atomic(dir.path() / "in", data));
  for (const Tool& tool : kTools) {
    if (!have_tool(tool.name)) continue;
    SCOPED_TRACE(tool.name);
    auto r = run_command(tool.compress + " < " + shell_quote(dir.path() / "in"));
    ASSERT_EQ(r.status, 0) << r.err;
    auto unpacked = decompress_string(tool.codec, r.out);
    ASSERT_TRUE(unpacked) << unpacked.error().to_string();
    EXPECT_TRUE(*unpacked == data);
    auto auto_reader = make_auto_decompressor(std::make_unique<StringReader>(r.out)).value();
    EXPECT_TRUE(read_all(*auto_reader, 1 << 30).value() == data);
  }
}

TEST(Interop, GzipWithFileNameFromTheTool) {
  REQUIRE_TOOL("gzip");
  auto dir = TempDir::create().value();
  ASSERT_TRUE(write_file_atomic(dir.path() / "named.txt", "a file with a name in its header\n"));
  auto r = run_command("cd " + shell_quote(dir.path()) + " && gzip -N -c named.txt");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(decompress_string(Compression::Gzip, r.out).value(),
            "a file with a name in its header\n");
}

TEST(Interop, MultiMemberGzip) {
  REQUIRE_TOOL("gzip");
  auto dir = TempDir::create().value();
  std::string a = compressible_bytes(300000, 41), b = random_bytes(70000, 42);
  ASSERT_TRUE(write_file_atomic(dir.path() / "a", a));
  ASSERT_TRUE(write_file_atomic(dir.path() / "b", b));
  // As `cat a.gz b.gz` makes, with members from gzip and from us.
  auto r = run_command("cd " + shell_quote(dir.path()) + " && gzip -c a > a.gz && gzip -c b > b.gz" +
                       " && cat a.gz b.gz");
  ASSERT_EQ(r.status, 0) << r.err;
  std::string ours = compress_string(Compression::Gzip, "third").value();
  std::string empty_member = compress_string(Compression::Gzip, "").value();
  std::string stream = r.out + empty_member + ours;
  for (size_t trickle : {size_t{1} << 30, size_t{3}}) {
    auto unpacked = decompress_string(Compression::Gzip, stream, trickle);
    ASSERT_TRUE(unpacked) << unpacked.error().to_string();
    EXPECT_TRUE(*unpacked == a + b + "third");
  }
}

TEST(Interop, MultiFrameZstd) {
  std::string one = compress_string(Compression::Zstd, "first,").value();
  std::string two = compress_string(Compression::Zstd, compressible_bytes(500000, 5)).value();
  auto unpacked = decompress_string(Compression::Zstd, one + two + one);
  ASSERT_TRUE(unpacked) << unpacked.error().to_string();
  EXPECT_TRUE(*unpacked == "first," + compressible_bytes(500000, 5) + "first,");
}

TEST(Interop, RealZstdLayerFromTestdata) {
  DE_REQUIRE_TESTDATA();
  auto layers = test::testdata_dir() / "docker" / "layers";
  auto file = FileReader::open(layers / "ggcr_crane_content.tar.zst");
  ASSERT_TRUE(file) << file.error().to_string();
  auto reader = make_auto_decompressor(std::move(*file));
  ASSERT_TRUE(reader) << reader.error().to_string();
  auto tar = read_all(**reader);
  ASSERT_TRUE(tar) << tar.error().to_string();
  EXPECT_EQ(tar->size() % 512, 0u);
  EXPECT_TRUE(*tar == read_file(layers / "ggcr_crane_content.tar").value());
}

// ---- broken input ------------------------------------------------------------------------------

TEST_P(EachCodec, TruncatedStreamsAreCorruption) {
  std::string data = compressible_bytes(1 << 20, 51);
  std::string packed = compress_string(GetParam(), data).value();
  for (size_t keep : {size_t{0}, size_t{1}, size_t{3}, size_t{9}, packed.size() / 2,
                      packed.size() - 8, packed.size() - 4, packed.size() - 1}) {
    SCOPED_TRACE("keeping " + std::to_string(keep) + " of " + std::to_string(packed.size()));
    auto unpacked = decompress_string(GetParam(), packed.substr(0, keep));
    ASSERT_FALSE(unpacked);
    EXPECT_EQ(unpacked.error().code(), Code::Corruption);
    EXPECT_NE(unpacked.error().message().find("truncated"), std::string::npos)
        << unpacked.error().message();
  }
}

TEST_P(EachCodec, CorruptedStreamsAreCorruption) {
  std::string data = compressible_bytes(1 << 20, 61);
  std::string packed = compress_string(GetParam(), data).value();
  for (size_t at : {packed.size() / 3, packed.size() / 2, packed.size() - 6}) {
    SCOPED_TRACE("flipping byte " + std::to_string(at) + " of " + std::to_string(packed.size()));
    std::string bad = packed;
    bad[at] = static_cast<char>(bad[at] ^ 0x55);
    auto unpacked = decompress_string(GetParam(), bad);
    ASSERT_FALSE(unpacked);
    EXPECT_EQ(unpacked.error().code(), Code::Corruption) << unpacked.error().to_string();
  }
  // Errors are sticky: reading again reports the failure again.
  std::string bad = packed;
  bad[packed.size() / 2] ^= 0x55;
  auto r = make_decompressor(GetParam(), std::make_unique<StringReader>(bad)).value();
  auto first = read_all(*r);
  ASSERT_FALSE(first);
  std::byte buf[16];
  auto again = r->read(buf);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message(), first.error().message());
}

TEST(Gzip, CrcMismatchIsNamed) {
  std::string packed = compress_string(Compression::Gzip, compressible_bytes(100000, 71)).value();
  packed[packed.size() - 8] ^= 1;  // first byte of the CRC32 in the trailer
  auto unpacked = decompress_string(Compression::Gzip, packed);
  ASSERT_FALSE(unpacked);
  EXPECT_EQ(unpacked.error().code(), Code::Corruption);
  EXPECT_NE(unpacked.error().message().find("CRC"), std::string::npos)
      << unpacked.error().message();
}

TEST(Gzip, LengthMismatchIsCorruption) {
  std::string packed = compress_string(Compression::Gzip, compressible_bytes(100000, 72)).value();
  packed[packed.size() - 4] ^= 1;  // ISIZE, the length mod 2^32, in the trailer
  auto unpacked = decompress_string(Compression::Gzip, packed);
  ASSERT_FALSE(unpacked);
  EXPECT_EQ(unpacked.error().code(), Code::Corruption);
}

TEST(Gzip, GarbageIsCorruption) {
  for (std::string garbage : {std::string("\x1f\x8b\x08\x00 not really gzip, just text here"),
                              std::string("\x1f\x8b\x09\x00\x00\x00\x00\x00\x00\xff....", 14)}) {
    auto unpacked = decompress_string(Compression::Gzip, garbage);
    ASSERT_FALSE(unpacked);
    EXPECT_EQ(unpacked.error().code(), Code::Corruption);
  }
  // Trailing bytes that are not another member.
  std::string packed = compress_string(Compression::Gzip, "payload").value();
  auto trailing = decompress_string(Compression::Gzip, packed + std::string(32, '\0'));
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error().code(), Code::Corruption);
}

TEST(Zstd, GarbageIsCorruption) {
  auto unpacked = decompress_string(Compression::Zstd, "\x28\xb5\x2f\xfd garbage garbage garbage");
  ASSERT_FALSE(unpacked);
  EXPECT_EQ(unpacked.error().code(), Code::Corruption);
  std::string packed = compress_string(Compression::Zstd, "payload").value();
  auto trailing = decompress_string(Compression::Zstd, packed + "not a frame at all");
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error().code(), Code::Corruption);
}

// ---- whole-buffer zstd (zstd_compress / zstd_decompress) ---------------------------------------

// Where a frame header keeps the content size: {offset, width}, width 0 when it records none
// (RFC 8878 3.1.1.1: the descriptor's top two bits and single-segment flag give the width).
std::pair<size_t, size_t> size_field(std::string_view frame) {
  if (frame.size() < 6) return {0, 0};
  auto fhd = static_cast<unsigned char>(frame[4]);
  unsigned fcs_flag = fhd >> 6, single = (fhd >> 5) & 1, dict_flag = fhd & 3;
  if (fcs_flag == 0 && !single) return {0, 0};
  size_t pos = 5 + (single ? 0 : 1) + (dict_flag == 0 ? 0 : dict_flag == 3 ? 4 : dict_flag);
  return {pos, fcs_flag == 0 ? 1 : fcs_flag == 1 ? 2 : fcs_flag == 2 ? 4 : 8};
}

std::optional<std::uint64_t> recorded_size(std::string_view frame) {
  auto [pos, width] = size_field(frame);
  if (width == 0) return std::nullopt;
  std::uint64_t v = 0;
  for (size_t i = 0; i < width; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(frame[pos + i])} << (8 * i);
  return width == 2 ? v + 256 : v;
}

TEST(ZstdWhole, RoundTripsAndRecordsTheContentSize) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{300}, size_t{70000}, size_t{3} << 20}) {
    std::string data = compressible_bytes(size, size + 1);
    auto packed = zstd_compress(data);
    ASSERT_TRUE(packed) << packed.error().to_string();
    EXPECT_EQ(recorded_size(*packed), size) << size;
    // Deterministic, and read by the streaming decompressor (and so by the zstd tool) too.
    EXPECT_TRUE(zstd_compress(data).value() == *packed);
    auto streamed = decompress_string(Compression::Zstd, *packed);
    ASSERT_TRUE(streamed) << streamed.error().to_string();
    EXPECT_TRUE(*streamed == data);
    auto whole = zstd_decompress(*packed, size);
    ASSERT_TRUE(whole) << whole.error().to_string();
    EXPECT_TRUE(*whole == data) << size;
  }
}

TEST(ZstdWhole, ReadsFramesWithoutASizeAndMixedFrames) {
  // The streaming compressor records no size for an input past its 1 MiB chunk.
  std::string big = compressible_bytes((size_t{5} << 20) + 17, 9);
  std::string streamed = compress_string(Compression::Zstd, big).value();
  ASSERT_EQ(recorded_size(streamed), std::nullopt);
  std::string small = zstd_compress("sized frame;").value();
  std::string skippable("\x50\x2a\x4d\x18\x03\x00\x00\x00" "abc", 11);
  std::string all = small + streamed + skippable + small;
  auto whole = zstd_decompress(all, 1 << 30);
  ASSERT_TRUE(whole) << whole.error().to_string();
  EXPECT_TRUE(*whole == "sized frame;" + big + "sized frame;");
  auto sized_only = zstd_decompress(small + skippable + small, 100);
  ASSERT_TRUE(sized_only) << sized_only.error().to_string();
  EXPECT_EQ(*sized_only, "sized frame;sized frame;");
}

TEST(ZstdWhole, RefusesWhatPassesTheLimitBeforeWritingIt) {
  std::string data = compressible_bytes(100000, 3);
  std::string sized = zstd_compress(data).value();
  std::string unsized = compress_string(Compression::Zstd, data + data + data + data + data +
                                                               data + data + data + data + data +
                                                               data)
                            .value();
  ASSERT_EQ(recorded_size(unsized), std::nullopt);
  for (const auto& [packed, limit] :
       {std::pair{sized, data.size() - 1}, std::pair{sized + sized, data.size() * 2 - 1},
        std::pair{unsized, data.size() * 11 - 1}}) {
    auto r = zstd_decompress(packed, limit);
    ASSERT_FALSE(r) << limit;
    EXPECT_EQ(r.error().code(), Code::Corruption);
    EXPECT_NE(r.error().message().find("more than"), std::string::npos) << r.error().to_string();
  }
  EXPECT_TRUE(zstd_decompress(unsized, data.size() * 11));
  // A header that claims an enormous size is refused before anything is allocated.
  std::string claims = sized;
  auto [pos, width] = size_field(claims);
  ASSERT_EQ(width, 4u);
  for (size_t i = 0; i < width; ++i) claims[pos + i] = '\xff';
  auto r = zstd_decompress(claims, 1 << 20);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("more than"), std::string::npos) << r.error().to_string();
}

TEST(ZstdWhole, DamageIsCorruption) {
  std::string data = compressible_bytes(200000, 4);
  std::string sized = zstd_compress(data).value();
  std::string unsized = compress_string(Compression::Zstd, data + data + data + data + data +
                                                               data + data)
                            .value();
  for (const std::string& packed : {sized, unsized}) {
    for (const std::string& bad :
         {std::string(), packed.substr(0, packed.size() - 1), packed.substr(0, packed.size() / 2),
          packed + "trailing bytes", std::string("\x28\xb5\x2f\xfd garbage garbage")}) {
      auto r = zstd_decompress(bad, 1 << 30);
      ASSERT_FALSE(r) << bad.size();
      EXPECT_EQ(r.error().code(), Code::Corruption) << r.error().to_string();
    }
    std::string flipped = packed;
    flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x5a);
    auto r = zstd_decompress(flipped, 1 << 30);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Code::Corruption) << r.error().to_string();
  }
}

// ---- auto-detection ----------------------------------------------------------------------------

TEST(Auto, DetectsAndKeepsThePeekedBytes) {
  std::string data = compressible_bytes(200000, 81);
  for (Compression c : {Compression::Gzip, Compression::Zstd, Compression::None}) {
    SCOPED_TRACE(std::string(to_string(c)));
    std::string packed = compress_string(c, data).value();
    // One byte per read: the peek has to loop, and every peeked byte must come back.
    auto r = make_auto_decompressor(std::make_unique<test::TrickleReader>(packed, 1));
    ASSERT_TRUE(r) << r.error().to_string();
    auto out = test::read_all_odd(**r);
    ASSERT_TRUE(out) << out.error().to_string();
    EXPECT_TRUE(*out == data);
  }
}

TEST(Auto, ShortAndEmptyPlainInputPassesThrough) {
  for (std::string s : {std::string(), std::string("a"), std::string("\x1f"), std::string("abc"),
                        std::string("\x28\xb5\x2f")}) {
    auto r = make_auto_decompressor(std::make_unique<StringReader>(s)).value();
    EXPECT_EQ(read_all(*r).value(), s);
  }
}

TEST(Auto, Bzip2IsUnsupported) {
  auto r = make_auto_decompressor(std::make_unique<StringReader>("BZh91AY&SY rest"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Unsupported);
}

TEST(Detect, MagicBytes) {
  EXPECT_EQ(detect_compression(as_bytes("\x1f\x8b")), Compression::Gzip);
  EXPECT_EQ(detect_compression(as_bytes("\x28\xb5\x2f\xfd")), Compression::Zstd);
  EXPECT_EQ(detect_compression(as_bytes("BZh9")), Compression::Bzip2);
  EXPECT_EQ(detect_compression(as_bytes("\x28\xb5\x2f")), Compression::None);
  EXPECT_EQ(detect_compression({}), Compression::None);
}

// ---- throughput (manual) -----------------------------------------------------------------------

// Not a benchmark suite (bench/ owns those): a quick probe to compare with `igzip -1` by hand.
// DE_FFI_BENCH_FILE=/path/to/200MB.tar de_ffi_tests --gtest_filter='Throughput.*'
namespace {
class CountingWriter final : public Writer {
 public:
  using Writer::write;
  Status write(std::span<const std::byte> data) override {
    bytes += data.size();
    return {};
  }
  std::uint64_t bytes = 0;
};
}  // namespace

TEST(Throughput, CompressAndDecompressAFile) {
  const char* path = std::getenv("DE_FFI_BENCH_FILE");
  if (!path || !*path) GTEST_SKIP() << "set DE_FFI_BENCH_FILE to measure throughput";
  auto dir = TempDir::create().value();
  for (Compression c : {Compression::Gzip, Compression::Zstd}) {
    auto packed_path = dir.path() / "packed";
    using clock = std::chrono::steady_clock;
    std::uint64_t in_bytes = 0, out_bytes = 0;
    auto t0 = clock::now();
    {
      auto in = FileReader::open(path).value();
      auto file = AtomicFileWriter::create(packed_path).value();
      auto w = make_compressor(c, *file).value();
      in_bytes = copy(*in, *w).value();
      ASSERT_TRUE(w->close());
      out_bytes = file->bytes_written();
      ASSERT_TRUE(file->commit());
    }
    double secs = std::chrono::duration<double>(clock::now() - t0).count();
    auto t1 = clock::now();
    CountingWriter sink;
    auto r = make_decompressor(c, FileReader::open(packed_path).value()).value();
    ASSERT_EQ(copy(*r, sink).value(), in_bytes);
    double dsecs = std::chrono::duration<double>(clock::now() - t1).count();
    std::printf("%s: %.1f MB in, %.1f MB out (%.3f), compress %.0f MB/s, decompress %.0f MB/s\n",
                std::string(to_string(c)).c_str(), in_bytes / 1e6, out_bytes / 1e6,
                double(out_bytes) / double(in_bytes), in_bytes / 1e6 / secs,
                in_bytes / 1e6 / dsecs);
  }
}

}  // namespace
}  // namespace de::ffi
