"""The security tests import their kit (a running `storeedge run`) from this folder."""
