using SeedExample;

// The article's network, declared with attributes in VisionModel.cs, trained on synthetic images in which
// both tasks have a real, learnable signal. Arguments: [epochs] (default 4).
int epochs = args.Length > 0 && int.TryParse(args[0], out int e) ? e : 4;
Console.WriteLine(VisionModel.Summary);
Console.WriteLine();
SeedTraining.Run(epochs, seed: 42, log: Console.WriteLine);
