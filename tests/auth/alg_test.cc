// alg_test.cc: algorithm names and lists (auth/alg.cc).
#include "auth/alg.h"

#include <gtest/gtest.h>

namespace appserver::auth {
namespace {

TEST(Alg, MapsEveryRegisteredNameBothWays) {
  for (const Alg alg : allAlgs()) {
    EXPECT_EQ(algFromName(algName(alg)), alg);
  }
  EXPECT_EQ(allAlgs().size(), 14u);
}

TEST(Alg, NamesAreCaseSensitive) {
  EXPECT_FALSE(algFromName("hs256"));
  EXPECT_FALSE(algFromName("EDDSA"));
  EXPECT_FALSE(algFromName("ES256k"));
}

TEST(Alg, HasNoNoneAlgorithm) {
  EXPECT_FALSE(algFromName("none"));
  EXPECT_TRUE(isNoneAlg("none"));
  EXPECT_TRUE(isNoneAlg("NONE"));
  EXPECT_TRUE(isNoneAlg("nOnE"));
  EXPECT_FALSE(isNoneAlg("non"));
  EXPECT_FALSE(isNoneAlg("none "));
}

TEST(Alg, ParsesCommaSeparatedList) {
  std::vector<Alg> algs;
  ASSERT_EQ(parseAlgList("HS256, RS256 ,EdDSA", algs), Status::Ok);
  EXPECT_EQ(algs, (std::vector<Alg>{Alg::Hs256, Alg::Rs256, Alg::EdDsa}));
}

TEST(Alg, RefusesListWithUnknownNoneOrEmptyEntry) {
  std::vector<Alg> algs{Alg::Hs256};
  EXPECT_EQ(parseAlgList("HS256,none", algs), Status::ConfigInvalid);
  EXPECT_EQ(parseAlgList("HS256,,RS256", algs), Status::ConfigInvalid);
  EXPECT_EQ(parseAlgList("", algs), Status::ConfigInvalid);
  EXPECT_EQ(parseAlgList("HS1", algs), Status::ConfigInvalid);
  EXPECT_EQ(algs, std::vector<Alg>{Alg::Hs256});
}

TEST(Alg, ReportsHashSizes) {
  EXPECT_EQ(algHashSize(Alg::Hs256), 32u);
  EXPECT_EQ(algHashSize(Alg::Ps384), 48u);
  EXPECT_EQ(algHashSize(Alg::Es512), 64u);
}

}  // namespace
}  // namespace appserver::auth
