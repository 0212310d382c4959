import pytest


def pytest_addoption(parser):
    parser.addoption("--executable", required=True, help="the kmeans-segment program to test")


@pytest.fixture(scope="session")
def executable(request):
    return request.config.getoption("--executable")
