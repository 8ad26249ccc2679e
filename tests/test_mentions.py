from paperscope.discussion.mentions import mentioned_handles


def test_mentions_are_handles_after_an_at_sign_outside_words_and_code() -> None:
    text = ("Thanks @Ada_L and @bob! Mail ada@example.org, see `@notme` and\n```\n@neither\n```\n"
            "(@carol) x@dave @" + "e" * 40)
    assert mentioned_handles(text) == {"ada_l", "bob", "carol"}
