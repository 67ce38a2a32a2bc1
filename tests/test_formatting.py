from prefeat.features.families import formatting

MARKDOWN = """# Title
## Section

Some **bold** and __also bold__ words, *italic* and _italic_ ones, `code` and a [link](https://x.org).

1. first
2) second
- bullet
* star bullet
+ plus bullet

> quoted

| a | b |
|---|:-:|
| 1 | 2 |

```python
# not a header
- not a list item
**not bold**
```
"""


def counts(text):
    return dict(zip(formatting.METRICS, formatting.compute([(text,)])[0], strict=True))


def test_known_counts_on_markdown():
    values = counts(MARKDOWN)
    assert values["headers"] == 2
    assert values["ordered_items"] == 2
    assert values["unordered_items"] == 3
    assert values["bold"] == 2
    assert values["italics"] == 2
    assert values["inline_code"] == 1
    assert values["links"] == 1
    assert values["block_quotes"] == 1
    assert values["tables"] == 1
    assert values["code_blocks"] == 1


def test_fenced_code_is_not_counted_as_markdown():
    inside_only = "```\n# h\n- item\n**b**\n```"
    values = counts(inside_only)
    assert values["code_blocks"] == 1
    assert values["headers"] == values["unordered_items"] == values["bold"] == 0


def test_snake_case_and_list_stars_are_not_italics():
    assert counts("use my_var_name here\n* item one")["italics"] == 0


def test_newlines_outside_code():
    assert counts("a\nb\n```\nx\ny\n```")["newlines"] == 2
