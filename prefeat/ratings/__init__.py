"""Ratings of the models that fought the battles: a leaderboard: Bradley-Terry ratings with bootstrap intervals,
raw and with style control (LMArena's method).

The model
---------
Each battle between ``model_a`` and ``model_b`` is one row of a logistic regression without intercept:
the model columns hold +1 for ``model_a``, -1 for ``model_b`` and 0 elsewhere, and the outcome is
"A wins". The coefficients ``beta`` are the models' strengths on the logit scale:
``P(A wins) = 1 / (1 + exp(-(beta_a - beta_b)))``. They are reported on the Elo scale LMArena uses,
``rating = 1000 + 400 / ln(10) * beta``, so a 400-point gap means 10:1 odds; the ratings are shifted
so that their mean is 1000 (or so that a named ``anchor`` model sits at 1000).

Ties count as half a win for each side (LMArena's rule): a tie adds the row "A wins" and the row
"B wins" with weight 0.5 each, so a tie pulls the two ratings together without a separate tie
parameter. A battle and its mirror (A and B exchanged, the row negated, the outcome flipped) add the
same term to the likelihood, so each battle enters once, in a canonical orientation (its first nonzero
column positive): swapping A and B in any battle gives the very same rows, so the same ratings to the
last bit. Identical rows are merged by summing their weights, so the raw fit works on a few rows per pair
of models whatever the number of battles. The fit is Newton's method with a Cholesky solve (many rows, a
few dozen columns), and each bootstrap resample starts from the fit on every battle.

Regularisation is a very weak L2 penalty (``C = 1e6`` in scikit-learn's terms: the summed log-loss of
the battles, each weighing 1, times 1e6, plus half the squared coefficients): it leaves the estimates
as the maximum-likelihood ones where those exist, and keeps them finite where they do not (a model that
wins every one of its battles in a bootstrap sample).

Style control
-------------
With ``control``, the design gains the chosen feature families' ``normdiff`` columns
(``(a - b) / (|a| + |b| + 1)``, computed by :class:`~prefeat.ArenaFeaturizer`) as covariates, as LMArena
does: the model ratings are then what is left once the answers' style explains what it can. Each
covariate is divided by its root mean square over the battles (not centred: a normdiff is odd in A/B, so
it stays odd, and no style difference still means no style effect); columns that are zero everywhere
are dropped. The coefficients, on the logit scale per root-mean-square unit of their column, are in
``table.attrs["style_coefficients"]`` (a Series), with their bootstrap intervals in
``table.attrs["style_intervals"]`` (a DataFrame with ``coefficient``, ``lower``, ``upper``).

Intervals
---------
``rating`` is the fit on all the battles; ``lower`` and ``upper`` are percentiles (2.5 and 97.5 for the
default 95%) of the ratings refitted on ``n_bootstrap`` resamples of the battles, drawn with
replacement by a NumPy Generator seeded with ``seed`` (as multinomial counts used as weights, which is
the same as resampling rows). The same seed gives the same numbers.
"""

from prefeat.ratings.leaderboard import leaderboard, leaderboard_figure, leaderboard_table

__all__ = ["leaderboard", "leaderboard_figure", "leaderboard_table"]
