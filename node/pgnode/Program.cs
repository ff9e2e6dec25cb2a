System.Console.WriteLine("pgnode");
