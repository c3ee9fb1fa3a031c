"""cl_core.threads.torch_threads sets and always restores the intra-op thread count."""

import pytest
import torch

from cl_core.threads import torch_threads


def test_sets_the_count_inside_and_restores_it_after_an_exception() -> None:
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("count", [0, -2, 1.5, True])
def test_rejects_a_count_that_is_not_a_positive_int(count: object) -> None:
    with pytest.raises(ValueError, match="count must be an int >= 1"), torch_threads(count):
        pass
