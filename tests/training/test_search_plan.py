"""The successive-halving plan of "choose for me within N minutes" (training.search): pure functions, no Django."""

from training import search as plan
from training.search import Candidate, MemberResult


def result(key, acc, *, arch="custom", lr=0.002, rung=0, epochs=2, spe=5.0, overhead=3.0, loss=None):
    return MemberResult(key=key, candidate=Candidate(arch, lr), rung=rung, epochs=epochs, val_accuracy=acc,
                        seconds_per_epoch=spe, overhead_s=overhead, val_loss=loss)


def test_the_cpu_gets_small_quick_architectures_and_a_gpu_more():
    assert plan.architectures(has_cuda=False, median_size=(300, 300)) == ("custom", "resnet18_small")
    assert "vit_tiny" in plan.architectures(has_cuda=True, median_size=(32, 32))
    assert "resnet18" in plan.architectures(has_cuda=True, median_size=(200, 160))


def test_every_architecture_is_tried_at_every_learning_rate_factor():
    found = plan.candidates({"custom": 0.002, "resnet18_small": 0.001})
    assert len(found) == 2 * len(plan.LR_FACTORS)
    assert {c.lr for c in found if c.arch == "custom"} == {0.002 * f for f in plan.LR_FACTORS}


def test_rung_zero_is_a_few_dozen_steps_and_at_least_one_epoch():
    assert plan.rung0_epochs(4, max_epochs=100) == 10  # 40 steps
    assert plan.rung0_epochs(500, max_epochs=100) == 1
    assert plan.rung0_epochs(1, max_epochs=6) == 6


def test_the_better_half_survive_and_failed_members_never_do():
    rung = [result(1, 0.5), result(2, 0.9), result(3, None), result(4, 0.7)]
    assert [r.key for r in plan.survivors(rung)] == [2, 4]
    assert [r.key for r in plan.survivors([result(1, None), result(2, 0.3), result(3, None)])] == [2]


def test_the_next_rung_doubles_the_epochs_when_time_allows():
    rung = [result(1, 0.5), result(2, 0.9), result(3, 0.6), result(4, 0.7)]
    step = plan.next_rung(rung, remaining_s=1000, max_epochs=100)
    assert step.rung == 1 and [p.key for p in step.parents] == [2, 4]
    assert step.extra_epochs == 2  # 2 trained, 4 in total
    assert step.estimate_s == 2 * (3.0 + 2 * 5.0)


def test_a_rung_that_would_overrun_the_budget_shrinks_or_never_starts():
    rung = [result(1, 0.5, epochs=4), result(2, 0.9, epochs=4)]  # one survivor: 3 s + 5 s per epoch
    shrunk = plan.next_rung(rung, remaining_s=(3 + 2 * 5) * plan.SAFETY, max_epochs=100)
    assert shrunk.extra_epochs == 2  # 4 wanted, 2 fit
    assert plan.next_rung(rung, remaining_s=7, max_epochs=100) is None  # not even one more epoch fits
    assert plan.next_rung(rung, remaining_s=-5, max_epochs=100) is None  # out of time


def test_the_search_ends_at_the_recipes_epochs_or_without_results():
    assert plan.next_rung([result(1, 0.9, epochs=10)], remaining_s=1e6, max_epochs=10) is None
    assert plan.next_rung([result(1, 0.9, epochs=8)], remaining_s=1e6, max_epochs=10).extra_epochs == 2
    assert plan.next_rung([result(1, None), result(2, None)], remaining_s=1e6, max_epochs=10) is None
    unmeasured = MemberResult(1, Candidate("custom", 0.1), 0, 2, 0.8, seconds_per_epoch=None)
    assert plan.next_rung([unmeasured], remaining_s=1e6, max_epochs=10) is None


def test_the_winner_is_the_best_on_validation_then_the_longest_trained():
    members = [result(1, 0.8), result(2, 0.9, rung=1, epochs=4), result(3, 0.9, rung=2, epochs=8), result(4, None)]
    assert plan.winner(members).key == 3
    assert plan.winner([result(1, None)]) is None


def test_a_tie_on_validation_accuracy_goes_to_the_lower_validation_loss_first():
    # Three members at 100% on a small validation set: the one least surprised by it wins, however long trained.
    tied = [result(1, 1.0, epochs=28, loss=0.21), result(2, 1.0, epochs=134, loss=0.35), result(3, 1.0, epochs=56,
                                                                                               loss=0.12)]
    assert plan.winner(tied).key == 3
    # An unknown or non-finite loss counts as the worst; then the longer trained wins as before.
    assert plan.winner([result(1, 1.0, epochs=9, loss=float("nan")), result(2, 1.0, epochs=5, loss=0.5)]).key == 2
    assert plan.winner([result(1, 1.0, epochs=9), result(2, 1.0, epochs=5)]).key == 1
    # Survivors are ranked the same way.
    rung = [result(1, 0.9, loss=0.5), result(2, 0.9, loss=0.3), result(3, 0.5), result(4, 0.4)]
    assert [r.key for r in plan.survivors(rung)] == [2, 1]



def test_members_that_stopped_early_continue_from_the_epochs_they_trained():
    # The leader stopped early after 12 epochs, the other survivor trained 37: epochs are those trained.
    rung = [result(1, 0.9, epochs=12), result(2, 0.8, epochs=37), result(3, 0.1, epochs=40), result(4, 0.2, epochs=40)]
    step = plan.next_rung(rung, remaining_s=1e6, max_epochs=60)
    assert [p.key for p in step.parents] == [1, 2]
    assert step.extra_epochs == 23  # the longest trained doubles, up to the 60 at most: 37 + 23
    assert max(p.epochs for p in step.parents) + step.extra_epochs <= 60
    assert step.estimate_s == 2 * (3.0 + 23 * 5.0)
    # A survivor that already trained the most epochs a run may train ends the search: none trains past it.
    assert plan.next_rung(rung, remaining_s=1e6, max_epochs=37) is None
    # A tie on validation accuracy goes to the member that trained longer, by the epochs it trained.
    assert plan.winner([result(1, 0.9, epochs=37), result(2, 0.9, epochs=12)]).key == 1
