using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Domain.Tests.Language;

public sealed class SentenceSegmenterTests
{
    private static string[] Texts(string text)
    {
        var sentences = SentenceSegmenter.Segment(text);
        Assert.All(sentences, s => Assert.Equal(s.Text, text.Substring(s.Start, s.Length)));
        return [.. sentences.Select(s => s.Text)];
    }

    [Fact]
    public void Sentences_end_at_full_stops_question_and_exclamation_marks_with_offsets_into_the_original()
    {
        const string text = "Strong SQL.  Did he test it? Yes!Great.";
        var sentences = SentenceSegmenter.Segment(text);
        Assert.Equal(["Strong SQL.", "Did he test it?", "Yes!Great."], sentences.Select(s => s.Text));
        Assert.Equal(0, sentences[0].Start);
        Assert.Equal(13, sentences[1].Start);
        Assert.Equal(29, sentences[2].Start);
    }

    [Fact]
    public void Abbreviations_initials_and_numbers_do_not_end_a_sentence()
    {
        Assert.Equal(
            ["He knows e.g. Kafka, i.e. streaming, etc. and worked with Dr. Smith and J. Doe on v2.5 of the tool.", "Next point."],
            Texts("He knows e.g. Kafka, i.e. streaming, etc. and worked with Dr. Smith and J. Doe on v2.5 of the tool. Next point."));
    }

    [Fact]
    public void Line_breaks_end_fragments_and_bullet_markers_are_left_out()
    {
        const string text = "Notes:\n- good at SQL\n* too 0ld for us\r\n• young and hungry\n1. clear code\n2) tests first\na) asks questions\n\n   \nno full stop at the end";
        Assert.Equal(
            ["Notes:", "good at SQL", "too 0ld for us", "young and hungry", "clear code", "tests first", "asks questions", "no full stop at the end"],
            Texts(text));
    }

    [Fact]
    public void Closing_quotes_and_brackets_stay_with_their_sentence_and_punctuation_alone_is_skipped()
    {
        Assert.Equal(["She said \"I'll think about it.\"", "(Then left.)"], Texts("She said \"I'll think about it.\" (Then left.) ... -- !"));
        Assert.Empty(SentenceSegmenter.Segment("  \n - \n ... "));
    }

    [Fact]
    public void A_very_long_unit_is_cut_at_whitespace()
    {
        var text = string.Join(' ', Enumerable.Repeat("word", 400));
        var sentences = Texts(text);
        Assert.True(sentences.Length >= 3);
        Assert.All(sentences, s => Assert.True(s.Length <= SentenceSegmenter.MaxLength));
        Assert.Equal(text.Replace(" ", string.Empty, StringComparison.Ordinal), string.Concat(sentences).Replace(" ", string.Empty, StringComparison.Ordinal));
    }
}

public sealed class LeetspeakTests
{
    [Theory]
    [InlineData("too 0ld for us", "too old for us")]
    [InlineData("wouldn't h1re h3r", "wouldn't hire her")]
    [InlineData("5k raise, 2nd round, 10x faster, in 1985, v2 api, x86", "5k raise, 2nd round, 10x faster, in 1985, v2 api, x86")]
    public void Digits_used_as_letters_are_folded_and_numbers_are_left_alone(string text, string expected) =>
        Assert.Equal(expected, SentenceEmbedder.FoldLeetspeak(text));
}

public sealed class CharNgramTests
{
    [Fact]
    public void A_misspelt_or_leetspeak_word_shares_most_of_its_character_ngrams_with_the_spelling()
    {
        const int buckets = 1 << 14;
        var spelt = LexicalFeatures.CharNgrams("She is pregnant.", buckets);
        Assert.Equal(spelt, LexicalFeatures.CharNgrams("She is pregnant.", buckets)); // deterministic (FNV-1a, not string.GetHashCode)
        Assert.All(spelt, i => Assert.InRange(i, 0, buckets - 1));
        Assert.Equal(spelt.Count, spelt.Distinct().Count());
        var misspelt = LexicalFeatures.CharNgrams("She is pregnent.", buckets);
        var leet = LexicalFeatures.CharNgrams("She is pr3gnant.", buckets);
        Assert.Equal(spelt, leet); // folded before hashing
        Assert.True(misspelt.Intersect(spelt).Count() >= spelt.Count / 2, "most grams survive one wrong letter");
        Assert.Empty(LexicalFeatures.CharNgrams("She is pregnant.", 0));
    }
}

public sealed class ModelTextTests
{
    [Fact]
    public void Merge_fields_become_plain_words_for_the_model() =>
        Assert.Equal("For the role we wanted the candidate to start on this.", SentenceEmbedder.Prepare("For {{position.title}} we wanted {{ candidate.first_name }} to start on {{application.rejected_on}}."));

    [Theory]
    [InlineData("Dim. Slow. Not for us.", new[] { "Dim. Slow. Not for us." })]
    [InlineData("Strong SQL and tests. Lazy. No hire from me.", new[] { "Strong SQL and tests.", "Lazy. No hire from me." })]
    [InlineData("He explained the cache well. Great.", new[] { "He explained the cache well. Great." })]
    [InlineData("Questions?", new[] { "Questions?" })]
    [InlineData("Notes:\n- clear about trade-offs\n- tests", new[] { "Notes:\n- clear about trade-offs\n- tests" })]
    public void Model_units_join_a_fragment_of_fewer_than_three_words_to_its_neighbour(string text, string[] expected)
    {
        var units = SentenceSegmenter.ModelUnits(text, 3);
        Assert.All(units, u => Assert.Equal(u.Text, text.Substring(u.Start, u.Length)));
        Assert.Equal(expected, units.Select(u => u.Text));
    }
}
