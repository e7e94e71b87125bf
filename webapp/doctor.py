"""`flask doctor`, also run by every start: production refuses to start with an unsafe setting, and
says every one of them at once."""

import sys
from urllib.parse import urlsplit

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from webapp import mail_identity
from webapp.config import DEFAULT_SECRET_KEY, LOCAL_ENVIRONMENTS, is_demo, is_production

MIN_SECRET_BYTES = 32


LOOPBACK_HOSTS = {None, "", "localhost", "127.0.0.1", "::1"}


class UnsafeConfiguration(click.ClickException):
    """A ClickException, so that any `flask` command prints it as one plain message."""

    def __init__(self, problems: list[str], demo: bool = False) -> None:
        self.problems = problems
        listed = "\n".join(f"  - {problem}" for problem in problems)
        if demo:
            message = f"The demo will not start with these settings:\n{listed}"
        else:
            message = (
                f"The portal will not start in production with these settings:\n{listed}"
                f"\nSet them right, or set APP_ENV to one of {', '.join(LOCAL_ENVIRONMENTS)} on a machine"
                " that only you use."
            )
        super().__init__(message)


def demo_problems(config) -> list[str]:
    """The demo resets its database in one step: never a school's. A database on another machine is
    a school's (the demo's own is a SQLite file, or a server on this machine); `demo.refuse_foreign_data`
    checks what a database on this machine holds."""
    if not is_demo(config):
        return []
    try:
        url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    except ArgumentError:
        return ["DATABASE_URL is not a database URL."]
    if url.get_backend_name() != "sqlite" and url.host not in LOOPBACK_HOSTS:
        return [
            f"DATABASE_URL names a database on {url.host}: APP_ENV=demo resets its database and only"
            " uses one on this machine. Leave DATABASE_URL unset (the demo's own SQLite file) or name"
            " a database of its own on this machine."
        ]
    return []


def problems(config) -> list[str]:
    """Every unsafe setting of a production configuration (none outside production)."""
    if not is_production(config):
        return []
    found = []
    secret = config.get("SECRET_KEY") or ""
    if secret == DEFAULT_SECRET_KEY:
        found.append("SECRET_KEY is the published development value: set a random one of 32+ bytes.")
    elif len(secret.encode()) < MIN_SECRET_BYTES:
        found.append(
            f"SECRET_KEY is {len(secret.encode())} bytes: it must be at least {MIN_SECRET_BYTES}"
            " (python3 -c 'import secrets; print(secrets.token_urlsafe(48))')."
        )
    if config["IDENTITY_DEMO"]:
        found.append("IDENTITY_DEMO is on: the demo ID-card/Smart-ID logs anyone in. Turn it off.")
    if config["MAIL_USERNAME"] and not (config["MAIL_USE_TLS"] or config["MAIL_USE_SSL"]):
        found.append(
            "MAIL_USERNAME is set without MAIL_USE_TLS or MAIL_USE_SSL: the password and every"
            " login link would cross the network in clear."
        )
    if urlsplit(config["BASE_URL"]).scheme != "https":
        found.append(f"BASE_URL is {config['BASE_URL']}: links in e-mails must use https://.")
    if not config["RATELIMIT_ENABLED"]:
        found.append("RATELIMIT_ENABLED is off: logins and links would have no limit.")
    if config["TRUSTED_PROXIES"] < 0:
        found.append("TRUSTED_PROXIES must be 0 or more.")
    # The From and Reply-To addresses, and DKIM: all three settings or none, the key readable and valid.
    found.extend(mail_identity.problems(config))
    return found


def refuse_unsafe(config) -> None:
    found = problems(config)
    if found:
        raise UnsafeConfiguration(found)
    found = demo_problems(config)
    if found:
        raise UnsafeConfiguration(found, demo=True)


@click.command("doctor")
def doctor_command() -> None:
    """Check the configuration the portal would start with; list every unsafe setting."""
    from webapp import create_app  # loading the app runs the same check

    try:
        app = create_app()
    except UnsafeConfiguration as unsafe:
        click.echo(unsafe.format_message(), err=True)
        sys.exit(1)
    config = app.config
    click.echo(f"APP_ENV={config['ENV_NAME']}: no unsafe setting found.")
    click.echo(f"  database: {urlsplit(config['SQLALCHEMY_DATABASE_URI']).scheme}")
    click.echo(f"  mail relay: {config['MAIL_SERVER']}:{config['MAIL_PORT']}")
    click.echo(f"  rate limits stored in: {urlsplit(config['RATELIMIT_STORAGE_URI']).scheme}")
    click.echo(f"  trusted proxies: {config['TRUSTED_PROXIES']}")
    unusable = mail_identity.problems(config)  # production has refused them already
    if unusable:
        click.echo("  e-mail: waits unsent until these are put right:")
        for problem in unusable:
            click.echo(f"    - {problem}")
    elif config["DKIM_SELECTOR"]:
        record = f"{config['DKIM_SELECTOR']}._domainkey.{config['DKIM_DOMAIN']}"
        click.echo(f"  DKIM: signs with the key published at {record}")
    else:
        click.echo("  DKIM: off, e-mail goes out unsigned (`flask dkim keygen` sets it up)")
