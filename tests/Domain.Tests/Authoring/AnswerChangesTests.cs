using FeedbackHub.Domain.Authoring;

namespace FeedbackHub.Domain.Tests.Authoring;

public sealed class AnswerChangesTests
{
    [Fact]
    public void The_same_answers_have_no_changes_even_with_phrases_in_another_order()
    {
        IReadOnlyList<Answer> before = [new("problem-solving", "meets", ["A", "B"], "Clear and tested."), new("communication", "strong")];
        IReadOnlyList<Answer> after = [new("communication", "strong"), new("problem-solving", "meets", ["B", "A"], "Clear and tested.")];
        Assert.Empty(AnswerChanges.Compare(before, after));
    }

    [Fact]
    public void A_band_change_names_both_bands_and_only_the_changed_criterion()
    {
        var change = Assert.Single(AnswerChanges.Compare(
            [new("problem-solving", "meets"), new("communication", "strong")],
            [new("problem-solving", "strong"), new("communication", "strong")]));
        Assert.Equal(("problem-solving", CriterionChangeKind.Changed, "meets", "strong", true), (change.Criterion, change.Kind, change.BandBefore, change.BandAfter, change.BandChanged));
        Assert.Empty(change.PhrasesAdded);
        Assert.Empty(change.PhrasesRemoved);
        Assert.Null(change.Comment);
    }

    [Fact]
    public void Phrases_added_and_removed_are_listed_apart_and_the_band_stays_unchanged()
    {
        var change = Assert.Single(AnswerChanges.Compare([new("code-quality", "strong", ["Small functions.", "Good names."])], [new("code-quality", "strong", ["Good names.", "Tested edge cases."])]));
        Assert.False(change.BandChanged);
        Assert.Equal(["Tested edge cases."], change.PhrasesAdded);
        Assert.Equal(["Small functions."], change.PhrasesRemoved);
    }

    [Fact]
    public void Criteria_answered_in_only_one_version_are_added_or_removed_with_their_whole_answer()
    {
        var changes = AnswerChanges.Compare(
            [new("communication", "meets", ["Spoke clearly."], "Old note.")],
            [new("system-design", "developing", [], "New note.")]);
        Assert.Equal(2, changes.Count);
        var added = changes[0];
        Assert.Equal(("system-design", CriterionChangeKind.Added, null, "developing"), (added.Criterion, added.Kind, added.BandBefore, added.BandAfter));
        Assert.Equal([new TextSegment(SegmentKind.Added, "New note.")], added.Comment);
        var removed = changes[1];
        Assert.Equal(("communication", CriterionChangeKind.Removed, "meets", null), (removed.Criterion, removed.Kind, removed.BandBefore, removed.BandAfter));
        Assert.Equal(["Spoke clearly."], removed.PhrasesRemoved);
        Assert.Equal([new TextSegment(SegmentKind.Removed, "Old note.")], removed.Comment);
    }

    [Fact]
    public void A_comment_edit_marks_the_words_inserted_and_deleted_and_keeps_the_rest()
    {
        var change = Assert.Single(AnswerChanges.Compare(
            [new("problem-solving", "meets", [], "You solved the second exercise quickly.")],
            [new("problem-solving", "meets", [], "You solved the second exercise with a clear, tested approach.")]));
        Assert.Equal(
            [
                new TextSegment(SegmentKind.Unchanged, "You solved the second exercise "),
                new TextSegment(SegmentKind.Removed, "quickly."),
                new TextSegment(SegmentKind.Added, "with a clear, tested approach."),
            ],
            change.Comment);
    }

    [Fact]
    public void A_rewritten_phrase_reads_as_one_replacement_not_word_by_word()
    {
        Assert.Equal(
            [
                new TextSegment(SegmentKind.Unchanged, "The "),
                new TextSegment(SegmentKind.Removed, "quick brown"),
                new TextSegment(SegmentKind.Added, "slow red"),
                new TextSegment(SegmentKind.Unchanged, " fox."),
            ],
            AnswerChanges.CompareText("The quick brown fox.", "The slow red fox."));
    }

    [Fact]
    public void Words_inserted_in_the_middle_and_removed_elsewhere_are_both_found()
    {
        Assert.Equal(
            [
                new TextSegment(SegmentKind.Unchanged, "You explained "),
                new TextSegment(SegmentKind.Added, "the trade-offs of "),
                new TextSegment(SegmentKind.Unchanged, "your design"),
                new TextSegment(SegmentKind.Removed, " very"),
                new TextSegment(SegmentKind.Unchanged, " clearly."),
            ],
            AnswerChanges.CompareText("You explained your design very clearly.", "You explained the trade-offs of your design clearly."));
    }

    [Fact]
    public void A_comment_added_or_removed_is_one_segment()
    {
        Assert.Equal([new TextSegment(SegmentKind.Added, "Now with a note.")], AnswerChanges.CompareText(null, "Now with a note."));
        Assert.Equal([new TextSegment(SegmentKind.Removed, "Gone.")], AnswerChanges.CompareText("Gone.", null));
        var change = Assert.Single(AnswerChanges.Compare([new("c", "b", [], "Gone.")], [new("c", "b")]));
        Assert.Equal([new TextSegment(SegmentKind.Removed, "Gone.")], change.Comment);
    }

    [Fact]
    public void Joining_the_segments_of_each_side_gives_back_both_texts()
    {
        var random = new Random(42);
        string[] words = ["a", "b", "clear", "tested", "design", "the", "and", "."];
        for (var round = 0; round < 200; round++)
        {
            var before = Text(random, words);
            var after = Text(random, words);
            var segments = AnswerChanges.CompareText(before, after);
            Assert.Equal(before, string.Concat(segments.Where(s => s.Kind != SegmentKind.Added).Select(s => s.Text)));
            Assert.Equal(after, string.Concat(segments.Where(s => s.Kind != SegmentKind.Removed).Select(s => s.Text)));
            Assert.DoesNotContain(segments, s => s.Text.Length == 0);
        }
    }

    [Fact]
    public void Texts_past_the_comparison_bound_are_shown_replaced_whole_in_reasonable_time()
    {
        // 2000 characters of one-letter words: 2000 tokens a side, 4 million cells, past the bound.
        var before = string.Join(' ', Enumerable.Repeat("a b", 500));
        var after = string.Join(' ', Enumerable.Repeat("b a", 500));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var segments = AnswerChanges.CompareText(before, after);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
        Assert.Equal(before, string.Concat(segments.Where(s => s.Kind != SegmentKind.Added).Select(s => s.Text)));
        Assert.Equal(after, string.Concat(segments.Where(s => s.Kind != SegmentKind.Removed).Select(s => s.Text)));
        Assert.Equal([SegmentKind.Removed, SegmentKind.Added], segments.Select(s => s.Kind));

        // The longest comment a template allows in ordinary words stays within the bound and is compared word by word.
        var sentence = string.Join(' ', Enumerable.Repeat("You explained the design clearly.", 60))[..2000];
        var edited = sentence.Replace("design clearly", "design very clearly", StringComparison.Ordinal);
        Assert.Contains(AnswerChanges.CompareText(sentence, edited), s => s.Kind == SegmentKind.Added && s.Text.Trim() == "very");
    }

    private static string Text(Random random, string[] words) =>
        string.Join(random.Next(4) == 0 ? "  " : " ", Enumerable.Range(0, random.Next(0, 12)).Select(_ => words[random.Next(words.Length)]));
}
