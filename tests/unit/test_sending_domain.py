"""The From domain of Message-IDs is parsed once per setting (webapp.mail_identity.sending_domain): a
changed setting still gives its own domain, and an unusable From still falls back to the portal's host."""

from webapp.mail_identity import sending_domain


def test_each_setting_gives_its_own_domain():
    base = {"BASE_URL": "https://portal.kool.ee"}
    assert sending_domain({**base, "MAIL_DEFAULT_SENDER": "Kool <noreply@Kool.EE>"}) == "kool.ee"
    assert sending_domain({**base, "MAIL_DEFAULT_SENDER": "noreply@teine.ee"}) == "teine.ee"
    assert sending_domain({**base, "MAIL_DEFAULT_SENDER": "Kool <noreply@Kool.EE>"}) == "kool.ee"


def test_an_unusable_from_falls_back_to_the_portals_host():
    for sender in ("", "not an address", "a@b.ee, c@d.ee", "Kool <noreply@kool.ee>\r\nBcc: x@y.ee"):
        config = {"BASE_URL": "https://portal.kool.ee", "MAIL_DEFAULT_SENDER": sender}
        assert sending_domain(config) == "portal.kool.ee"
    assert sending_domain({"BASE_URL": "https://muu.ee", "MAIL_DEFAULT_SENDER": ""}) == "muu.ee"
