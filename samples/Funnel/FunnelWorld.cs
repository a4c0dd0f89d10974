using static TorchSharp.torch;

namespace Funnel;

/// <summary>The vocabularies and sizes every declaration of the sample reads.</summary>
public static class Vocabulary
{
    /// <summary>Users: ids 0 to 499.</summary>
    public const int Users = 500;

    /// <summary>Items: ids 0 to 299.</summary>
    public const int Items = 300;

    /// <summary>Tags: ids 1 to 63, and 0 for "no tag" (an item has one to four).</summary>
    public const int Tags = 64;

    /// <summary>The places of an item's bag of tags (unused places hold 0).</summary>
    public const int TagsPerItem = 4;

    /// <summary>Dense features of an impression (its context: position, hour, device and the like, scaled to [−1, 1]).</summary>
    public const int Dense = 6;
}

/// <summary>
/// A set of impressions: for each, the dense context, the user, the item and the item's tags; whether it was clicked;
/// and whether the user converts on the item once on its page — for every impression, which a real log does not know
/// (it sees a conversion only after a click). The sample knows it, so it can score a conversion model over the entire
/// space of impressions, where the model is used. <c>ClickLogit</c> and <c>ConversionLogit</c> are the world's own
/// logits, from which the labels were drawn: the best any model can score.
/// </summary>
public sealed record Impressions(Tensor Dense, Tensor User, Tensor Item, Tensor Tags, Tensor Click, Tensor Converts, Tensor ClickLogit, Tensor ConversionLogit)
{
    /// <summary>How many impressions.</summary>
    public long Count => User.shape[0];

    /// <summary>The conversion as the log records it: the label after a click, missing (NaN) elsewhere.</summary>
    public Tensor ObservedConversion => where(Click > 0.5, Converts, full_like(Converts, double.NaN));

    /// <summary>Clicked and converted: the label ESMM's product task learns on every impression.</summary>
    public Tensor ClickAndConversion => Click * Converts;

    /// <summary>The impressions at <paramref name="rows"/> (a boolean mask or indices).</summary>
    public Impressions Select(Tensor rows) => new(Dense[rows], User[rows], Item[rows], Tags[rows], Click[rows], Converts[rows], ClickLogit[rows], ConversionLogit[rows]);
}

/// <summary>
/// A synthetic advertising funnel, impression → click → conversion, with a known selection bias. Everything latent is
/// drawn once from the world's seed:
/// <list type="bullet">
/// <item>each user has a taste (a vector of 4) and an activity (how readily they click);</item>
/// <item>each tag has a topic vector; each item has one to four tags, a topic (the mean of its tags' topics and its own
/// noise), an appeal (how readily it is clicked) and a quality (how readily a click becomes a purchase), the quality
/// correlated with the appeal (0.6);</item>
/// <item>the relevance of an item to a user is their taste · its topic;</item>
/// <item>click logit = −2.2 + activity + 1.2·appeal + 0.9·relevance + 0.8·x₀ − 0.6·x₁;</item>
/// <item>conversion logit = −2.0 + 1.4·quality + 0.9·relevance + 0.8·x₂ − 0.6·x₃ (x: the dense context).</item>
/// </list>
/// About 15 % of the impressions are clicked. The clicked ones are those of appealing items and relevant pairs, so a
/// conversion model trained on them sees the items and pairs that convert best and few others; it is then used on every
/// impression. That is the sample selection bias ESMM (Ma et al., SIGIR 2018) removes by learning over the entire space.
/// </summary>
public sealed class FunnelWorld
{
    private const int Taste = 4;
    private readonly double[][] _userTaste, _itemTopic;
    private readonly double[] _userActivity, _itemAppeal, _itemQuality;
    private readonly long[][] _itemTags;

    /// <summary>Draws the users, items and tags of the world <paramref name="seed"/>.</summary>
    public FunnelWorld(int seed)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        double[] Vector(double scale) => Enumerable.Range(0, Taste).Select(_ => scale * Normal()).ToArray();

        _userTaste = Enumerable.Range(0, Vocabulary.Users).Select(_ => Vector(0.5)).ToArray();
        _userActivity = Enumerable.Range(0, Vocabulary.Users).Select(_ => 0.5 * Normal()).ToArray();
        double[][] tagTopic = Enumerable.Range(0, Vocabulary.Tags).Select(_ => Vector(1)).ToArray();
        _itemTags = new long[Vocabulary.Items][];
        _itemTopic = new double[Vocabulary.Items][];
        _itemAppeal = new double[Vocabulary.Items];
        _itemQuality = new double[Vocabulary.Items];
        for (int item = 0; item < Vocabulary.Items; item++)
        {
            long[] tags = Enumerable.Range(1, Vocabulary.Tags - 1).OrderBy(_ => random.Next()).Take(1 + random.Next(Vocabulary.TagsPerItem)).Select(t => (long)t).ToArray();
            _itemTags[item] = tags.Concat(Enumerable.Repeat(0L, Vocabulary.TagsPerItem - tags.Length)).ToArray();
            _itemTopic[item] = Enumerable.Range(0, Taste).Select(d => tags.Average(t => tagTopic[t][d]) + 0.5 * Normal()).ToArray();
            _itemAppeal[item] = Normal();
            _itemQuality[item] = 0.6 * _itemAppeal[item] + 0.8 * Normal();
        }
    }

    /// <summary>
    /// <paramref name="count"/> impressions of random users and items, with their clicks and conversions drawn from
    /// the world's probabilities (<paramref name="seed"/>: which impressions and draws).
    /// </summary>
    public Impressions Draw(int count, int seed)
    {
        var random = new Random(seed);
        var dense = new float[count * Vocabulary.Dense];
        var users = new long[count];
        var items = new long[count];
        var tags = new long[count * Vocabulary.TagsPerItem];
        var clicks = new float[count];
        var converts = new float[count];
        var clickLogits = new float[count];
        var conversionLogits = new float[count];
        for (int i = 0; i < count; i++)
        {
            int user = random.Next(Vocabulary.Users), item = random.Next(Vocabulary.Items);
            users[i] = user;
            items[i] = item;
            Array.Copy(_itemTags[item], 0, tags, i * Vocabulary.TagsPerItem, Vocabulary.TagsPerItem);
            var x = new double[Vocabulary.Dense];
            for (int f = 0; f < x.Length; f++)
                dense[i * Vocabulary.Dense + f] = (float)(x[f] = random.NextDouble() * 2 - 1);
            double relevance = _userTaste[user].Zip(_itemTopic[item]).Sum(p => p.First * p.Second);
            double click = -2.2 + _userActivity[user] + 1.2 * _itemAppeal[item] + 0.9 * relevance + 0.8 * x[0] - 0.6 * x[1];
            double conversion = -2.0 + 1.4 * _itemQuality[item] + 0.9 * relevance + 0.8 * x[2] - 0.6 * x[3];
            clickLogits[i] = (float)click;
            conversionLogits[i] = (float)conversion;
            clicks[i] = random.NextDouble() < Sigmoid(click) ? 1 : 0;
            converts[i] = random.NextDouble() < Sigmoid(conversion) ? 1 : 0;
        }
        return new Impressions(tensor(dense, [count, Vocabulary.Dense]), tensor(users), tensor(items),
            tensor(tags, [count, Vocabulary.TagsPerItem]), tensor(clicks, [count, 1]), tensor(converts, [count, 1]),
            tensor(clickLogits, [count, 1]), tensor(conversionLogits, [count, 1]));
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}
