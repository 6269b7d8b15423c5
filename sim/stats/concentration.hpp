#pragma once
// How concentrated a holder's book is, from the scenario alone (no trial): the Herfindahl-Hirschman
// index of its stake over operators and of its exposure over AVSs, and how many times its stake is
// put to work. A book spread evenly over k operators has an HHI of 1/k; one operator, 1.
#include <vector>

#include "model/model.hpp"
#include "trial/world.hpp"

namespace restake {

struct Concentration {
  // Over the operators the holder chose: the one it delegated to when restaked, else the one
  // running its validators; shares of its stake. 0: a holder without positions (no stake to share).
  double hhi_operators = 0.0;
  // Over AVSs, shares of its exposure: stake x the magnitude allocated to the AVS (1 in shared
  // mode, where every AVS of the operator can slash all of it). 0: no AVS can slash it.
  double hhi_avs = 0.0;
  double restaked_share = 0.0;   // restaked stake / initial value
  double restaking_ratio = 0.0;  // exposure summed over AVSs / initial value: stake x magnitude allocated to each AVS, summed
};

std::vector<Concentration> concentration(const Model& m, const World& w);

}  // namespace restake
