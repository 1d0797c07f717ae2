#include "docker_envs/pypi/simple_api.hpp"

#include <gtest/gtest.h>

#include <string>

#include "docker_envs/pypi/metadata.hpp"

namespace de::pypi {
namespace {

TEST(PypiUrl, ResolvesReferencesAsRfc3986) {
  // The examples of RFC 3986 section 5.4 with base http://a/b/c/d;p?q.
  const std::string base = "http://a/b/c/d;p?q";
  struct Case {
    const char* ref;
    const char* want;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"g:h", "g:h"},          {"g", "http://a/b/c/g"},       {"./g", "http://a/b/c/g"},
           {"g/", "http://a/b/c/g/"}, {"/g", "http://a/g"},        {"//g", "http://g"},
           {"?y", "http://a/b/c/d;p?y"}, {"g?y", "http://a/b/c/g?y"}, {"#s", "http://a/b/c/d;p?q#s"},
           {"g#s", "http://a/b/c/g#s"}, {";x", "http://a/b/c/;x"}, {"", "http://a/b/c/d;p?q"},
           {".", "http://a/b/c/"},  {"./", "http://a/b/c/"},       {"..", "http://a/b/"},
           {"../", "http://a/b/"},  {"../g", "http://a/b/g"},      {"../..", "http://a/"},
           {"../../g", "http://a/g"}, {"../../../g", "http://a/g"}, {"/./g", "http://a/g"},
           {"/../g", "http://a/g"}, {"g.", "http://a/b/c/g."},     {"..g", "http://a/b/c/..g"},
           {"./../g", "http://a/b/g"}, {"g/./h", "http://a/b/c/g/h"}, {"g/../h", "http://a/b/c/h"},
       }) {
    EXPECT_EQ(resolve_url(base, c.ref), c.want) << c.ref;
  }
  EXPECT_EQ(resolve_url("http://127.0.0.1:8000/simple/six/", "../../packages/six-1.0.whl#sha256=ab"),
            "http://127.0.0.1:8000/packages/six-1.0.whl#sha256=ab");
  EXPECT_EQ(resolve_url("file:///srv/wheels/", "a.whl"), "file:///srv/wheels/a.whl");
}

TEST(PypiSimpleHtml, Pep503Page) {
  const std::string page = R"(<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.1"><title>Links for six</title></head>
<body><h1>Links for six</h1>
<!-- <a href="commented-1.0.tar.gz">no</a> -->
<a href="../../packages/six-1.15.0-py2.py3-none-any.whl#sha256=8B74BEDCBBBAA38A" data-requires-python="&gt;=2.7, !=3.0.*">six-1.15.0-py2.py3-none-any.whl</a><br/>
<A HREF='https://files.example/six-1.16.0-py2.py3-none-any.whl' data-yanked="broken metadata" data-core-metadata="sha256=ABCD">six-1.16.0-py2.py3-none-any.whl</A>
<a href="six-1.17.0.tar.gz" data-requires-python="bogus >< spec" data-dist-info-metadata="true" data-yanked>six-1.17.0.tar.gz</a>
<a href="six-1.18.0%2Blocal-py3-none-any.whl" data-core-metadata="false">x</a>
<a name="no-href">anchor</a>
</body></html>)";
  auto parsed = parse_simple_html(page, "http://127.0.0.1:8000/simple/six/");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  const auto& f = parsed->files;
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].filename, "six-1.15.0-py2.py3-none-any.whl");
  EXPECT_EQ(f[0].url, "http://127.0.0.1:8000/packages/six-1.15.0-py2.py3-none-any.whl");
  EXPECT_EQ(f[0].hashes.at("sha256"), "8b74bedcbbbaa38a");
  EXPECT_EQ(f[0].requires_python_text, ">=2.7, !=3.0.*");
  ASSERT_TRUE(f[0].requires_python);
  EXPECT_EQ(f[0].requires_python->to_string(), ">=2.7,!=3.0.*");
  EXPECT_FALSE(f[0].yanked);
  EXPECT_FALSE(f[0].has_core_metadata);

  EXPECT_EQ(f[1].url, "https://files.example/six-1.16.0-py2.py3-none-any.whl");
  EXPECT_TRUE(f[1].yanked);
  EXPECT_EQ(f[1].yanked_reason, "broken metadata");
  EXPECT_TRUE(f[1].has_core_metadata);
  EXPECT_EQ(f[1].core_metadata_hashes.at("sha256"), "abcd");
  EXPECT_EQ(f[1].core_metadata_url(),
            "https://files.example/six-1.16.0-py2.py3-none-any.whl.metadata");

  EXPECT_EQ(f[2].url, "http://127.0.0.1:8000/simple/six/six-1.17.0.tar.gz");
  EXPECT_EQ(f[2].requires_python_text, "bogus >< spec");
  EXPECT_FALSE(f[2].requires_python);  // kept, ignored for selection
  EXPECT_TRUE(f[2].has_core_metadata);
  EXPECT_TRUE(f[2].yanked);
  EXPECT_EQ(f[2].yanked_reason, "");

  EXPECT_EQ(f[3].filename, "six-1.18.0+local-py3-none-any.whl");
  EXPECT_FALSE(f[3].has_core_metadata);
}

TEST(PypiSimpleHtml, BaseTagAndHostileLinks) {
  const std::string page = R"(<html><head><base href="https://mirror.example/files/"></head>
<a href="a-1.0-py3-none-any.whl">a</a>
<a href="sub/%2F..%2Fevil-1.0.whl">evil</a>
<a href="https://x.example/">dir</a>
<a href="..">up</a>
<a href="b-1.0.whl?download=1#md5=00">b</a>)";
  auto parsed = parse_simple_html(page, "https://index.example/simple/a/");
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->files.size(), 2u);
  EXPECT_EQ(parsed->files[0].url, "https://mirror.example/files/a-1.0-py3-none-any.whl");
  EXPECT_EQ(parsed->files[1].filename, "b-1.0.whl");
  EXPECT_EQ(parsed->files[1].url, "https://mirror.example/files/b-1.0.whl?download=1");
  EXPECT_EQ(parsed->files[1].hashes.at("md5"), "00");
}

TEST(PypiSimpleHtml, ToleratesBrokenMarkup) {
  for (const char* junk : {"", "<", "<a", "<a href", "<a href=", "<a href='x", "<<<>>>", "<!--",
                           "<a href=\"x.whl\" data-yanked=\"&#xFFFFFFFFF;&#;&bogus;&", "&#0;",
                           "<a href=&amp;x-1.0.whl>"}) {
    auto parsed = parse_simple_html(junk, "http://h/simple/x/");
    EXPECT_TRUE(parsed) << junk;
  }
  auto amp = parse_simple_html("<a href=a&amp;b-1.0.whl>", "http://h/s/");
  ASSERT_TRUE(amp);
  ASSERT_EQ(amp->files.size(), 1u);
  EXPECT_EQ(amp->files[0].filename, "a&b-1.0.whl");
}

TEST(PypiSimpleJson, Pep691Page) {
  const std::string page = R"({
    "meta": {"api-version": "1.1"},
    "name": "holygrail",
    "files": [
      {"filename": "holygrail-1.0.tar.gz", "url": "https://example.com/files/holygrail-1.0.tar.gz",
       "hashes": {"sha256": "ABC"}, "requires-python": ">=3.7", "yanked": "Had a vulnerability"},
      {"filename": "holygrail-1.0-py3-none-any.whl", "url": "../../files/holygrail-1.0-py3-none-any.whl",
       "hashes": {"sha256": "def", "blake2b": "01"}, "core-metadata": {"sha256": "beef"},
       "yanked": false},
      {"filename": "holygrail-1.1-py3-none-any.whl", "url": "h.whl", "dist-info-metadata": true,
       "yanked": true},
      {"filename": "../escape.whl", "url": "e.whl"},
      {"filename": 7, "url": "x"},
      "junk"
    ]})";
  auto parsed = parse_project_page(page, "application/vnd.pypi.simple.v1+json; charset=utf-8",
                                   "https://example.com/simple/holygrail/");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  const auto& f = parsed->files;
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].hashes.at("sha256"), "abc");
  EXPECT_EQ(f[0].requires_python->to_string(), ">=3.7");
  EXPECT_TRUE(f[0].yanked);
  EXPECT_EQ(f[0].yanked_reason, "Had a vulnerability");
  EXPECT_EQ(f[1].url, "https://example.com/files/holygrail-1.0-py3-none-any.whl");
  EXPECT_FALSE(f[1].yanked);
  EXPECT_TRUE(f[1].has_core_metadata);
  EXPECT_EQ(f[1].core_metadata_hashes.at("sha256"), "beef");
  EXPECT_EQ(f[1].hashes.size(), 2u);
  EXPECT_EQ(f[2].url, "https://example.com/simple/holygrail/h.whl");
  EXPECT_TRUE(f[2].has_core_metadata);
  EXPECT_TRUE(f[2].yanked);
  EXPECT_TRUE(f[2].yanked_reason.empty());
}

TEST(PypiSimpleJson, RefusesWhatItCannotRead) {
  EXPECT_EQ(parse_simple_json("{", "u").error().code(), Code::Corruption);
  EXPECT_EQ(parse_simple_json("[]", "u").error().code(), Code::Corruption);
  EXPECT_EQ(parse_simple_json(R"({"files": []})", "u").error().code(), Code::Corruption);
  auto v2 = parse_simple_json(R"({"meta": {"api-version": "2.0"}, "files": []})", "u");
  ASSERT_FALSE(v2);
  EXPECT_EQ(v2.error().code(), Code::Unsupported);
  EXPECT_NE(v2.error().message().find("2.0"), std::string::npos);
  EXPECT_TRUE(parse_simple_json(R"({"meta": {"api-version": "1.0"}, "files": []})", "u"));
  // HTML unless the Content-Type says PEP 691 JSON.
  auto html = parse_project_page("<a href='x-1.0.tar.gz'>x</a>", "text/html", "http://h/s/x/");
  ASSERT_TRUE(html);
  EXPECT_EQ(html->files.size(), 1u);
}

TEST(PypiMetadata, CoreMetadataFields) {
  const std::string text =
      "Metadata-Version: 2.1\r\n"
      "Name: Requests\r\n"
      "Version: 2.31.0\r\n"
      "Summary: Python HTTP for Humans.\r\n"
      "Requires-Python: >=3.7\r\n"
      "License: Apache 2.0\r\n"
      "  continued license text\r\n"
      "Requires-Dist: charset-normalizer (<4,>=2)\r\n"
      "Requires-Dist: idna<4,>=2.5\r\n"
      "Requires-Dist: PySocks!=1.5.7,>=1.5.6 ; extra == 'socks'\r\n"
      "Provides-Extra: socks\r\n"
      "Provides-Extra: Use_Chardet_On_Py3\r\n"
      "requires-dist: urllib3<3,>=1.21.1\r\n"
      "\r\n"
      "Requires-Dist: not-a-field-this-is-the-description\r\n";
  auto m = CoreMetadata::parse(text);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->metadata_version, "2.1");
  EXPECT_EQ(m->name, "Requests");
  EXPECT_EQ(m->version.to_string(), "2.31.0");
  ASSERT_TRUE(m->requires_python);
  EXPECT_EQ(m->requires_python->to_string(), ">=3.7");
  ASSERT_EQ(m->requires_dist.size(), 4u);
  EXPECT_EQ(m->requires_dist[0].specifiers.to_string(), "<4,>=2");
  EXPECT_EQ(m->requires_dist[2].key(), "pysocks");
  EXPECT_TRUE(m->requires_dist[2].marker->mentions_extra());
  EXPECT_EQ(m->requires_dist[3].key(), "urllib3");
  EXPECT_EQ(m->provides_extra, (std::vector<std::string>{"socks", "use-chardet-on-py3"}));
}

TEST(PypiMetadata, ErrorsNameTheLine) {
  auto bad = CoreMetadata::parse("Name: x\nVersion: 1.0\nRequires-Dist: foo >= \n", "x.dist-info/METADATA");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().to_string().find("x.dist-info/METADATA line 3"), std::string::npos)
      << bad.error().to_string();
  EXPECT_FALSE(CoreMetadata::parse("Version: 1.0\n"));
  EXPECT_FALSE(CoreMetadata::parse("Name: x\n"));
  EXPECT_FALSE(CoreMetadata::parse("Name: x y\nVersion: 1\n"));
  EXPECT_FALSE(CoreMetadata::parse("Name: x\nVersion: one\n"));
  EXPECT_TRUE(CoreMetadata::parse("Name: x\nVersion: 1\nno colon line\n"));
}

}  // namespace
}  // namespace de::pypi
