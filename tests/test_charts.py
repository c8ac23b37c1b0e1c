import datetime as dt
import xml.etree.ElementTree as ET

import pandas as pd

from newsdag.charts import markdown_image, top_actors_chart


def test_chart_is_valid_svg_with_one_line_per_top_actor():
    daily = pd.DataFrame({
        "day": [dt.date(2021, 7, d) for d in (7, 28, 28, 28, 29)],
        "actor": ["Taliban", "Taliban", "China", "A <&> B", "Taliban"],
        "mentions": [8, 13, 11, 2, 4],
    })
    svg = top_actors_chart(daily, top=2)
    root = ET.fromstring(svg)  # well-formed, names escaped
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 2
    assert "Taliban" in svg and "China" in svg and "A &lt;&amp;&gt; B" not in svg
    assert markdown_image(svg, "x").startswith("![x](data:image/svg+xml;base64,")
