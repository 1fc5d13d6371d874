"""Pages the content tests share: an article in a site's furniture, and hostile input."""

from __future__ import annotations

URL = "https://news.example/world/2024/story.html"
BASE = "https://cdn.example/assets/"

ARTICLE = f"""<!doctype html>
<html><head>
<title>Rivers return | The Example Times</title>
<base href="{BASE}">
<meta name="description" content="How three rivers came back to life.">
<link rel="canonical" href="/world/rivers">
</head><body>
<div id="cookie-banner">We use cookies to improve your experience. Accept all cookies?</div>
<header class="site-header"><a href="/">The Example Times</a></header>
<nav class="main-nav"><ul><li><a href="/world">World</a></li><li><a href="/sport">Sport</a>
</li><li><a href="/arts">Arts</a></li></ul></nav>
<main><article>
<h1>Rivers return to life after the dams came down</h1>
<p>For the first time in a century, salmon have been seen spawning in the upper reaches of
the three rivers, a year after the last of the old dams was taken down by the county.</p>
<p>Biologists counted more than four hundred nests in the gravel beds this autumn, and they
say that the <em>recovery</em> has been <strong>faster than any model predicted</strong>,
according to the <a href="/reports/salmon-2024.pdf">county report</a> published on Monday.</p>
<h2>What changed</h2>
<p>The removal opened about sixty kilometres of river to migrating fish, and the sediment that
had piled up behind the concrete walls is now moving downstream to rebuild the beaches.</p>
<ul><li>Sixty kilometres of river reopened to salmon</li>
<li>Four hundred nests counted in the gravel beds</li></ul>
<table><tr><th>River</th><th>Nests</th></tr><tr><td>Elwha</td><td>210</td></tr>
<tr><td>Klamath</td><td>190</td></tr></table>
<p>The county published the counting script it used for the survey, so that anyone can check
the figures against the raw observations made by the volunteers on the riverbanks:</p>
<pre><code>nests = count(survey, min_depth_cm=20)
print(nests)</code></pre>
<p><img src="img/salmon.jpg" alt="A salmon jumping a weir"> Volunteers will count the nests
again next spring, when the second generation of fish is expected to return to the rivers.</p>
</article></main>
<aside class="related-stories"><h3>Related</h3><a href="/a">Another story</a></aside>
<footer class="site-footer"><p>Copyright 2024 The Example Times. All rights reserved.
Terms of service. Privacy policy.</p></footer>
</body></html>
"""

BOILERPLATE = ("cookies", "Copyright", "Another story", "Sport")
"""Words of the article page's furniture, which no engine's content may hold."""

GARBAGE = bytes(range(256)).decode("latin-1") * 4
