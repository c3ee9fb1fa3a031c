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


def test_cpu_threads_limits_torch_and_blas_and_restores_both() -> None:
    from threadpoolctl import threadpool_info

    from cl_core.threads import cpu_threads

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    torch_before, blas_before = torch.get_num_threads(), blas_threads()
    with pytest.raises(RuntimeError, match="boom"), cpu_threads(1):
        assert torch.get_num_threads() == 1
        assert all(count == 1 for count in blas_threads())
        raise RuntimeError("boom")
    assert torch.get_num_threads() == torch_before
    assert blas_threads() == blas_before
